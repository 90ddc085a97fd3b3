"""The specialist's in-page record viewer (workspace/<reference>/records/)."""

urlpatterns: list = []

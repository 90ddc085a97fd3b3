"""Records-release authorisations (cases/<reference>/record-requests/)."""

urlpatterns: list = []

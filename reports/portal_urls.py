"""The report as family and physician read it (cases/<reference>/report/)."""

urlpatterns: list = []

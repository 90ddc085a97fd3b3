from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"

    def ready(self) -> None:
        # Imported here, not at the top: models may be used only once the app registry is
        # ready. The case page shows this app's panels (cases.panels).
        from cases.panels import register

        from .panels import PANELS

        register(*PANELS)

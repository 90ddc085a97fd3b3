from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"

    def ready(self) -> None:
        # Imported here, not at the top: models may be used only once the app registry is
        # ready. The case page shows this app's panels (cases.panels).
        from cases.panels import register  # noqa: PLC0415

        from . import console  # noqa: PLC0415
        from .panels import PANELS  # noqa: PLC0415

        register(*PANELS)
        console.register()  # the console's report panel and buttons

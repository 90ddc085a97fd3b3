from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"

    def ready(self) -> None:
        # The report panel and buttons of the coordinator console; imported here because
        # apps.py loads before the models that module reads.
        from . import console

        console.register()

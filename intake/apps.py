from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "intake"

    def ready(self) -> None:
        # The intake's panels, queue columns and name search in the coordinator console;
        # imported here because apps.py loads before the models that module reads.
        from . import console

        console.register()

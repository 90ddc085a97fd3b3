from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        # The payment panel, column and filter of the coordinator console; imported here
        # because apps.py loads before the models that module reads.
        from . import console

        console.register()

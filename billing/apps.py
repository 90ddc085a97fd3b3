from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        # Imported here, not at the top: the port's modules import models, which Django
        # allows only once the app registry is ready.
        from cases.payments import payments_provide

        from .port import BillingPayments

        payments_provide(BillingPayments())

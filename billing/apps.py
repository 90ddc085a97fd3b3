from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        # Imported here, not at the top: models may be used only once the app registry is
        # ready. Billing provides the case kernel's payment port (cases.payments), the case
        # page shows this app's panels (cases.panels), and the request form's card step is
        # this app's view (intake.step_handlers).
        from cases.panels import register  # noqa: PLC0415
        from cases.payments import payments_provide  # noqa: PLC0415
        from intake.step_handlers import register_step  # noqa: PLC0415

        from . import console  # noqa: PLC0415
        from .panels import PANELS  # noqa: PLC0415
        from .port import BillingPayments  # noqa: PLC0415
        from .views import card_step  # noqa: PLC0415

        payments_provide(BillingPayments())
        register(*PANELS)
        register_step("card", card_step)
        console.register()  # the console's payment panel, column and filter

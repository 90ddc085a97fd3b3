from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        # Imported here, not at the top: models may be used only once the app registry is
        # ready. The case page shows this app's panels (cases.panels), and the request
        # form's card step is this app's view (intake.step_handlers).
        from cases.panels import register
        from intake.step_handlers import register_step

        from .panels import PANELS
        from .views import card_step

        register(*PANELS)
        register_step("card", card_step)

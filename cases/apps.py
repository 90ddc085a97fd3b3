from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Cases"

    def ready(self) -> None:
        # The clock's receivers drop its cached closures and policy when they are edited;
        # the notifications' receiver marks a sent email on its case's timeline.
        from . import clock, notifications  # noqa: F401, PLC0415

        # The kernel's own panels of the case page (imported once the models are ready).
        from .page import KERNEL_PANELS  # noqa: PLC0415
        from .panels import register  # noqa: PLC0415

        register(*KERNEL_PANELS)

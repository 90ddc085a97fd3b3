from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Cases"

    def ready(self) -> None:
        # The clock's receivers drop its cached closures and policy when they are edited;
        # the notifications' receiver marks a sent email on its case's timeline.
        from . import clock, notifications  # noqa: F401

        # The kernel's own panels of the case page (imported once the models are ready).
        from .page import KERNEL_PANELS
        from .panels import register

        register(*KERNEL_PANELS)

from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Cases"

    def ready(self) -> None:
        # The clock's receivers drop its cached closures and policy when they are edited;
        # the notifications' receiver marks a sent email on its case's timeline.
        from . import clock, notifications  # noqa: F401

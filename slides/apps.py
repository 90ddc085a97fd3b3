from django.apps import AppConfig


class SlidesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "slides"
    verbose_name = "Whole-slide images"

    def ready(self) -> None:
        from . import signals  # noqa: F401 - connects the receivers

from django.apps import AppConfig


class SlidesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "slides"
    verbose_name = "Whole-slide images"

    def ready(self) -> None:
        # Here, not at the top: the receivers read models, loaded once the registry is ready.
        from . import signals  # noqa: F401, PLC0415 - connects the receivers

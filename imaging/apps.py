from django.apps import AppConfig


class ImagingConfig(AppConfig):
    name = "imaging"
    verbose_name = "Imaging"

    def ready(self) -> None:
        # The hook that queues indexing once a record's scan clears it.
        from . import signals  # noqa: F401

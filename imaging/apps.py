from django.apps import AppConfig


class ImagingConfig(AppConfig):
    name = "imaging"
    verbose_name = "Imaging"

    def ready(self) -> None:
        # The hook that queues indexing once a record's scan clears it.
        # The study links of the coordinator console's case page; imported here because
        # apps.py loads before the models that module reads.
        from . import (  # noqa: PLC0415
            console,
            signals,  # noqa: F401
        )

        console.register()

from django.apps import AppConfig


class PacsConfig(AppConfig):
    name = "pacs"
    verbose_name = "PACS forwarding"

    def ready(self) -> None:
        # Automatic sending on assignment listens to the case state machine's signal.
        # The PACS panel, policy switch and "Send to PACS" of the coordinator console;
        # imported here because apps.py loads before the models that module reads.
        from . import (  # noqa: PLC0415
            console,
            receivers,  # noqa: F401
        )

        console.register()
        # The case page's study list joins each study's transfer, for the PACS panel.
        from imaging.studies import register_related  # noqa: PLC0415

        register_related("pacs_transfer")

from django.apps import AppConfig


class PacsConfig(AppConfig):
    name = "pacs"
    verbose_name = "PACS forwarding"

    def ready(self) -> None:
        # Automatic sending on assignment listens to the case state machine's signal.
        from . import receivers  # noqa: F401

from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "intake"

    def ready(self) -> None:
        # Imported here, not at the top: models may be used only once the app registry is
        # ready. The case page shows this app's panels and the case lists its counts
        # (cases.panels); messages take files through its records pipeline, whose tasks
        # intake.receivers queues.
        from cases.messaging import provide_attachments  # noqa: PLC0415
        from cases.panels import register, register_list_count  # noqa: PLC0415

        from . import (  # noqa: PLC0415
            console,
            receivers,  # noqa: F401
        )
        from .attachments import ATTACHMENTS  # noqa: PLC0415
        from .panels import LIST_COUNTS, PANELS  # noqa: PLC0415

        register(*PANELS)
        for name, count in LIST_COUNTS.items():
            register_list_count(name, count)
        provide_attachments(ATTACHMENTS)
        console.register()  # the console's intake panels, queue columns and name search

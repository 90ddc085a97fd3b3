from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Infrastructure with no knowledge of cases; an app only because the outbox is a table."""

    name = "core"
    verbose_name = "Infrastructure"

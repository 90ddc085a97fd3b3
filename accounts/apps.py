from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from . import backends, signals  # noqa: F401 (backends: its cache invalidation receivers)

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Here, not at the top: the receivers read models, loaded once the registry is ready.
        from . import backends, signals  # noqa: F401, PLC0415 (backends: receivers)

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Organisations and users"

    def ready(self) -> None:
        from core import signals  # noqa: F401  (connects the login audit handlers)

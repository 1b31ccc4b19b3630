from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Organisations and users"

    def ready(self) -> None:
        from core import signals  # noqa: F401  (connects the login audit handlers)
        from core.api import schema  # noqa: F401  (registers the token scheme with drf-spectacular)

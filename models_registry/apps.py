from django.apps import AppConfig


class ModelsRegistryConfig(AppConfig):
    name = "models_registry"
    verbose_name = "AI system inventory, model versions and datasets"

    def ready(self) -> None:
        from core import home
        from models_registry.selectors import registry_home_stats

        home.register("registry", "system.view", registry_home_stats)

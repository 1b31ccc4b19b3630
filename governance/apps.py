from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "EU AI Act classification, obligations and risk register"

    def ready(self) -> None:
        from core import home
        from governance import signals
        from governance.risks.selectors import risk_home_stats
        from governance.selectors import classification_home_stats

        signals.connect()
        home.register("classification", "classification.view", lambda *, user: classification_home_stats(user))
        home.register("risks", "risk.view", risk_home_stats)
        from governance import queues

        queues.register()  # the compliance officer's work queues on the home page

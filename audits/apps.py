from django.apps import AppConfig


class AuditsConfig(AppConfig):
    name = "audits"
    verbose_name = "Audits and audit trail"

    def ready(self) -> None:
        from audits import evidence_source

        evidence_source.register()  # validation runs as obligation evidence (governance.evidence_sources)
        from audits.certification import receivers

        receivers.connect()  # automatic suspension of certificates
        from audits.selectors import validation_home_stats
        from core import home

        home.register("validation", "validation.view", validation_home_stats)  # the home page's validation card
        from audits import queues

        queues.register()  # the reviewers', admins' and engineers' work queues on the home page

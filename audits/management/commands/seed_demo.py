"""Create the demo organisations and one user per role. Safe to run any number of times."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core import context
from core.choices import Role
from core.models import Organisation, User
from core.services import organisation_create, user_create

DEMO_PASSWORD = "demo-portal-2026"
DEMO_ORGS = [
    (
        "Acme Bank",
        "acme-bank",
        [
            ("engineer", "Mia", "Engineer", Role.ML_ENGINEER, "ML engineer, credit risk models"),
            ("auditor", "Arne", "Auditor", Role.AUDITOR, "Model risk auditor"),
            ("compliance", "Chloé", "Compliance", Role.COMPLIANCE_OFFICER, "AI compliance officer"),
            ("admin", "Ada", "Admin", Role.ORG_ADMIN, "Head of model risk management"),
        ],
    ),
    (
        "Globex Insurance",
        "globex-insurance",
        [
            ("globex.engineer", "Gus", "Globex", Role.ML_ENGINEER, "ML engineer, pricing"),
        ],
    ),
]


class Command(BaseCommand):
    help = "Create demo organisations and users (idempotent). Refused when DEBUG is off unless --force."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Seed even with DEBUG off.")
        parser.add_argument("--quiet-summary", action="store_true", help="Do not print the log-in table.")
        parser.add_argument(
            "--without-examples", action="store_true", help="Only organisations and users, no example AI system."
        )

    def handle(self, *args, force=False, quiet_summary=False, without_examples=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError("Refusing to create demo users with DEBUG off; pass --force if you mean it.")
        created = 0
        with context.use(context.AuditContext(request_id=context.new_request_id(), origin="command")):
            with transaction.atomic():
                for name, slug, people in DEMO_ORGS:
                    organisation = Organisation.objects.filter(slug=slug).first() or organisation_create(
                        name=name, slug=slug
                    )
                    for username, first, last, role, title in people:
                        if User.objects.filter(username=username).exists():
                            continue
                        user_create(
                            actor=None,
                            organisation=organisation,
                            username=username,
                            email=f"{username}@{slug}.example",
                            role=role,
                            first_name=first,
                            last_name=last,
                            job_title=title,
                            password=DEMO_PASSWORD,
                            send_invite=False,
                        )
                        created += 1
            if not without_examples:
                from models_registry.demo import seed_credit_scoring

                if seed_credit_scoring(User.objects.get(username="engineer")):
                    self.stdout.write("Example AI system registered: Consumer credit scoring (model + datasets).")
        self.stdout.write(f"Demo data ready ({created} user(s) created).")
        if not quiet_summary:
            self.stdout.write(self.summary())

    @staticmethod
    def summary() -> str:
        lines = ["", "Log in at http://127.0.0.1:8000/ with password " + DEMO_PASSWORD + ":"]
        for name, _slug, people in DEMO_ORGS:
            for username, _f, _l, role, _t in people:
                lines.append(f"  {username:<18} {Role(role).label:<20} {name}")
        return "\n".join(lines) + "\n"

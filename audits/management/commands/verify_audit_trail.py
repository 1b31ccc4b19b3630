from django.core.management.base import BaseCommand, CommandError

from audits.services import audit_trail_verify


class Command(BaseCommand):
    help = ("Verify the hash chain of the audit trail. Exits 0 when every chain is intact; exits 1 "
            "and names the first broken event of each damaged chain otherwise.")

    def add_arguments(self, parser):
        parser.add_argument("--organisation", type=int, help="Only this organisation's chain.")

    def handle(self, *args, organisation=None, **options):
        result = audit_trail_verify(organisation_id=organisation, all_chains=organisation is None)
        if result.ok:
            self.stdout.write(self.style.SUCCESS(
                f"Audit trail intact: {result.checked} events in {result.chains} chain(s)."))
            return
        for problem in result.breaks:
            self.stderr.write(f"BROKEN {problem.describe()}")
        raise CommandError(f"Audit trail verification failed: {len(result.breaks)} chain(s) broken "
                           f"({result.checked} events read).")

import os

from django.core.management.base import BaseCommand, CommandError

from audits.services import VERIFY_CHUNK_SIZE, audit_trail_verify


class Command(BaseCommand):
    help = (
        "Verify the audit trail: every chain's links and hashes, its stored head, and every anchor kept "
        "outside the database (the signed checkpoints under AUDIT_CHECKPOINT_DIR and in the locked S3 "
        "bucket, and the audit anchor signed into each certificate). Exits 0 when all agree; exits 1 and "
        "lists every break otherwise."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organisation", type=int, help="Only this organisation's chain.")
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=VERIFY_CHUNK_SIZE,
            help=f"Events read from the database at a time (default {VERIFY_CHUNK_SIZE}); memory stays bounded by it.",
        )

        parser.add_argument(
            "--workers",
            type=int,
            default=min(2, os.cpu_count() or 1),
            help="Processes that check parts of long chains side by side on PostgreSQL (default: 2, or 1 on "
            "a one-core machine). The result is the same with 1.",
        )

    def handle(self, *args, organisation=None, chunk_size=VERIFY_CHUNK_SIZE, workers=1, **options):
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1.")
        if workers < 1:
            raise CommandError("--workers must be at least 1.")
        result = audit_trail_verify(
            organisation_id=organisation, all_chains=organisation is None, chunk_size=chunk_size, workers=workers
        )
        if result.ok:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Audit trail intact: {result.checked} events in {result.chains} chain(s); "
                    f"{result.anchors_checked} checkpoint(s) and certificate anchor(s) agree."
                )
            )
            return
        for problem in result.breaks:
            self.stderr.write(f"BROKEN {problem.describe()}")
        chains = len({b.chain for b in result.breaks})
        raise CommandError(
            f"Audit trail verification failed: {len(result.breaks)} break(s) in {chains} chain(s) "
            f"({result.checked} events read, {result.anchors_checked} anchors checked)."
        )

"""The evidence-staleness sweep goes through the broker to a real worker, like the beat would send it."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_the_worker_sweep_sends_an_obligation_with_stale_evidence_back_to_needs_rework(
    celery_worker_process, obligation, compliance_officer
):
    from core.models import AuditEvent
    from governance import services
    from governance.models import Evidence
    from governance.tasks import evidence_staleness_sweep

    services.evidence_add_document(
        obligation=obligation, actor=compliance_officer, uploaded_file=SimpleUploadedFile("report.txt", b"report")
    )
    for status in ("in_progress", "evidence_submitted", "accepted"):
        services.obligation_transition(obligation=obligation, to_status=status, actor=compliance_officer)
    Evidence.objects.update(dated_at=timezone.now() - timedelta(days=obligation.evidence_max_age_days + 1))

    assert evidence_staleness_sweep.delay().get(timeout=60) == {"moved": [obligation.pk]}
    obligation.refresh_from_db()
    assert obligation.status == "needs_rework"
    event = AuditEvent.objects.get(verb="obligation.evidence_stale")
    assert event.origin == "task" and event.object_id == str(obligation.pk)

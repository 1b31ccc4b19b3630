import io
import json
import subprocess
import sys
from contextlib import contextmanager

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError

from audits.models import AuditEvent
from audits.services import audit_trail_verify, export_csv, export_jsonl
from audits.trail import audit_record
from core import context

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail(organisation, org_admin):
    for n in range(5):
        audit_record(verb="demo.changed", target=org_admin, actor=org_admin,
                     before={"n": n}, after={"n": n + 1, "note": "ünïcode ✓", "ratio": 0.1}, reason=f"step {n}")
    return list(AuditEvent.objects.filter(organisation=organisation).order_by("seq"))


@contextmanager
def tampering():
    """Simulate someone with direct database access: on PostgreSQL, switch off the append-only
    trigger first (as a table owner could)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Fire the deferred foreign-key checks first; ALTER TABLE refuses to run while any are pending.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE audits_auditevent DISABLE TRIGGER audits_auditevent_append_only")
        try:
            yield cursor
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("ALTER TABLE audits_auditevent ENABLE TRIGGER audits_auditevent_append_only")


def verify_command() -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_audit_trail", stdout=out, stderr=err)
        return 0, out.getvalue()
    except SystemExit as exc:  # pragma: no cover - call_command raises CommandError instead
        return exc.code, err.getvalue()
    except Exception as exc:
        return 1, err.getvalue() + str(exc)


def test_an_intact_chain_verifies_and_the_command_exits_zero(trail):
    assert audit_trail_verify(organisation_id=trail[0].organisation_id).ok
    code, output = verify_command()
    assert code == 0
    assert "intact" in output


def test_each_event_links_to_the_hash_of_the_previous_one(trail):
    assert trail[0].prev_hash == "0" * 64
    for previous, event in zip(trail, trail[1:]):
        assert event.prev_hash == previous.hash
        assert event.seq == previous.seq + 1


def test_altering_a_row_through_raw_sql_is_detected_and_named(trail):
    victim = trail[2]
    with tampering() as cursor:
        cursor.execute("UPDATE audits_auditevent SET reason = %s WHERE id = %s", ["nothing to see", victim.id])
    result = audit_trail_verify(organisation_id=victim.organisation_id)
    assert not result.ok
    assert result.breaks[0].seq == victim.seq
    assert "altered" in result.breaks[0].problem
    code, output = verify_command()
    assert code != 0
    assert f"#{victim.seq}" in output


def test_deleting_a_row_in_the_middle_is_detected(trail):
    with tampering() as cursor:
        cursor.execute("DELETE FROM audits_auditevent WHERE id = %s", [trail[1].id])
    result = audit_trail_verify(organisation_id=trail[0].organisation_id)
    assert not result.ok
    assert result.breaks[0].seq == trail[2].seq


def test_deleting_the_last_row_is_detected_through_the_chain_head(trail):
    with tampering() as cursor:
        cursor.execute("DELETE FROM audits_auditevent WHERE id = %s", [trail[-1].id])
    result = audit_trail_verify(organisation_id=trail[0].organisation_id)
    assert not result.ok
    assert "removed from the end" in result.breaks[0].problem


def test_reordering_two_rows_is_detected(trail):
    first, second = trail[1], trail[2]
    with tampering() as cursor:
        # Swap the sequence numbers through a temporary value (the pair is unique).
        cursor.execute("UPDATE audits_auditevent SET seq = 999999 WHERE id = %s", [first.id])
        cursor.execute("UPDATE audits_auditevent SET seq = %s WHERE id = %s", [first.seq, second.id])
        cursor.execute("UPDATE audits_auditevent SET seq = %s WHERE id = %s", [second.seq, first.id])
    result = audit_trail_verify(organisation_id=first.organisation_id)
    assert not result.ok
    assert result.breaks[0].seq == first.seq


@pytest.mark.skipif(connection.vendor != "postgresql" and "CI" not in __import__("os").environ,
                    reason="the append-only trigger exists on PostgreSQL only (CI runs it there)")
def test_postgresql_refuses_update_and_delete_on_the_trail(trail):
    assert connection.vendor == "postgresql", "CI must run this on PostgreSQL"
    for statement in ("UPDATE audits_auditevent SET reason = 'x' WHERE id = %s",
                      "DELETE FROM audits_auditevent WHERE id = %s"):
        with pytest.raises(DatabaseError, match="append-only"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement, [trail[0].id])
    assert AuditEvent.objects.get(id=trail[0].id).reason == trail[0].reason


def test_events_carry_the_request_context(organisation, org_admin):
    with context.use(context.AuditContext(actor_id=org_admin.pk, request_id="req-12345678", ip="10.1.2.3",
                                          origin="web")):
        event = audit_record(verb="demo.touched", target=organisation)
    assert (event.actor_id, event.actor_username, event.actor_role) == (org_admin.pk, "ada", "org_admin")
    assert (event.request_id, event.ip, event.origin) == ("req-12345678", "10.1.2.3", "web")


def test_an_event_is_rolled_back_with_the_change_it_describes(organisation, org_admin):
    before = AuditEvent.objects.count()
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            audit_record(verb="demo.doomed", target=organisation, actor=org_admin)
            raise RuntimeError("the service failed after writing its event")
    assert AuditEvent.objects.count() == before
    assert audit_trail_verify(organisation_id=organisation.pk).ok


def test_organisations_have_separate_chains(organisation, other_organisation, org_admin, outsider):
    audit_record(verb="a", target=organisation, actor=org_admin)
    audit_record(verb="b", target=other_organisation, actor=outsider)
    a = AuditEvent.objects.filter(organisation=organisation).order_by("seq").first()
    b = AuditEvent.objects.filter(organisation=other_organisation).order_by("seq").first()
    assert a.chain != b.chain
    assert a.seq == b.seq == 1


def test_a_jsonl_export_can_be_verified_without_the_portal(trail, tmp_path):
    queryset = AuditEvent.objects.filter(organisation=trail[0].organisation)
    export = tmp_path / "trail.jsonl"
    export.write_text("".join(export_jsonl(queryset, complete=True)), encoding="utf-8")
    script = ["python3", "tools/verify_audit_export.py", str(export)]
    ok = subprocess.run(script, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    lines = export.read_text(encoding="utf-8").splitlines()
    row = json.loads(lines[3])
    row["reason"] = "rewritten"
    lines[3] = json.dumps(row, ensure_ascii=False)
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bad = subprocess.run(script, capture_output=True, text=True)
    assert bad.returncode == 1
    assert f"#{row['seq']}" in bad.stdout


def test_a_csv_export_can_be_verified_without_the_portal(trail, tmp_path):
    queryset = AuditEvent.objects.filter(organisation=trail[0].organisation)
    export = tmp_path / "trail.csv"
    export.write_text("".join(export_csv(queryset, complete=True)), encoding="utf-8")
    result = subprocess.run(["python3", "tools/verify_audit_export.py", str(export)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(trail)} events" in result.stdout


def test_logging_in_outside_a_request_does_not_make_that_user_the_actor_of_later_events(client, organisation, org_admin):
    client.force_login(org_admin, backend="django.contrib.auth.backends.ModelBackend")
    event = audit_record(verb="demo.later", target=organisation)
    assert event.actor_id is None

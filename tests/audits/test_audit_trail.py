import io
import json
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError

from audits import checkpoints
from audits.services import audit_trail_verify, export_csv, export_jsonl
from core import context
from core.models import AuditEvent
from core.trail import audit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail(organisation, org_admin):
    for n in range(5):
        audit_record(
            verb="demo.changed",
            target=org_admin,
            actor=org_admin,
            before={"n": n},
            after={"n": n + 1, "note": "ünïcode ✓", "ratio": 0.1},
            reason=f"step {n}",
        )
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


@pytest.mark.skipif(
    connection.vendor != "postgresql" and "CI" not in __import__("os").environ,
    reason="the append-only trigger exists on PostgreSQL only (CI runs it there)",
)
def test_postgresql_refuses_update_and_delete_on_the_trail(trail):
    assert connection.vendor == "postgresql", "CI must run this on PostgreSQL"
    for statement in (
        "UPDATE audits_auditevent SET reason = 'x' WHERE id = %s",
        "DELETE FROM audits_auditevent WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement, [trail[0].id])
    assert AuditEvent.objects.get(id=trail[0].id).reason == trail[0].reason


@pytest.mark.skipif(
    connection.vendor != "postgresql" and "CI" not in __import__("os").environ,
    reason="the truncate guard exists on PostgreSQL only (CI runs it there)",
)
def test_postgresql_refuses_to_truncate_the_trail(trail):
    assert connection.vendor == "postgresql", "CI must run this on PostgreSQL"
    with pytest.raises(DatabaseError, match="append-only: TRUNCATE"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE refuses to run with deferred checks pending
            cursor.execute("TRUNCATE audits_auditevent CASCADE")
    assert AuditEvent.objects.filter(organisation=trail[0].organisation).count() == len(trail)
    assert audit_trail_verify(organisation_id=trail[0].organisation_id).ok


def test_events_carry_the_request_context(organisation, org_admin):
    with context.use(
        context.AuditContext(actor_id=org_admin.pk, request_id="req-12345678", ip="10.1.2.3", origin="web")
    ):
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


def export_file(tmp_path, trail, fmt="jsonl", *, complete=True, name="trail") -> Path:
    queryset = AuditEvent.objects.filter(organisation=trail[0].organisation)
    writer = export_jsonl if fmt == "jsonl" else export_csv
    path = tmp_path / f"{name}.{fmt}"
    path.write_text("".join(writer(queryset, complete=complete, chain=trail[0].chain)), encoding="utf-8")
    return path


@pytest.fixture
def public_key(tmp_path) -> Path:
    """The audit-trail key as the portal publishes it (key id line first)."""
    path = tmp_path / "audit-trail-public-key.pem"
    path.write_text(f"Key id: {checkpoints.checkpoint_key_id()}\n{checkpoints.checkpoint_public_key_pem()}")
    return path


def run_tool(*args) -> subprocess.CompletedProcess:
    return subprocess.run(["python3", "tools/verify_audit_export.py", *map(str, args)], capture_output=True, text=True)


def test_a_jsonl_export_can_be_verified_without_the_portal(trail, tmp_path, public_key):
    export = export_file(tmp_path, trail)
    ok = run_tool(export, "--public-key", public_key)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    lines = export.read_text(encoding="utf-8").splitlines()
    row = json.loads(lines[3])
    row["reason"] = "rewritten"
    lines[3] = json.dumps(row, ensure_ascii=False)
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bad = run_tool(export, "--public-key", public_key)
    assert bad.returncode == 1
    assert f"#{row['seq']}" in bad.stdout


def test_a_csv_export_can_be_verified_without_the_portal(trail, tmp_path, public_key):
    export = export_file(tmp_path, trail, "csv")
    result = run_tool(export, "--public-key", public_key)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(trail)} events" in result.stdout


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_deleting_the_last_event_line_of_a_complete_export_fails_verification(trail, tmp_path, public_key, fmt):
    export = export_file(tmp_path, trail, fmt)
    lines = export.read_text(encoding="utf-8").splitlines()
    export.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    result = run_tool(export, "--public-key", public_key)
    assert result.returncode == 1, result.stdout
    assert "promises" in result.stdout and "removed from the end" in result.stdout


def test_flipping_the_header_to_a_filtered_export_and_deleting_a_line_fails_verification(trail, tmp_path, public_key):
    export = export_file(tmp_path, trail)
    lines = export.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first["_export"]["complete_chain"] = False
    first["_export"]["events"] -= 1
    lines[0] = json.dumps(first)
    del lines[2]
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_tool(export, "--public-key", public_key)
    assert result.returncode == 1, result.stdout
    assert "header was altered" in result.stdout


def test_an_export_whose_signature_was_removed_is_refused(trail, tmp_path, public_key):
    export = export_file(tmp_path, trail)
    lines = export.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    del first["_signature"]
    first["_export"]["complete_chain"] = False
    lines[0] = json.dumps(first)
    del lines[-1]
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_tool(export, "--public-key", public_key)
    assert result.returncode == 1
    assert "not signed" in result.stdout


def test_an_export_checked_without_its_public_key_is_a_usage_error(trail, tmp_path):
    result = run_tool(export_file(tmp_path, trail))
    assert result.returncode == 2
    assert checkpoints.checkpoint_key_id() in result.stderr and "--public-key" in result.stderr


def test_the_tools_ed25519_agrees_with_the_cryptography_package():
    import importlib.util
    import os

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    spec = importlib.util.spec_from_file_location("verify_audit_export_tool", "tools/verify_audit_export.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    for size in (0, 1, 64, 1000):
        key = Ed25519PrivateKey.generate()
        public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        message = os.urandom(size)
        signature = key.sign(message)
        assert tool.ed25519_verify(public, message, signature)
        assert not tool.ed25519_verify(public, message + b"x", signature)
        flipped = bytearray(signature)
        flipped[size % 64] ^= 1
        assert not tool.ed25519_verify(public, message, bytes(flipped))
        other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        assert not tool.ed25519_verify(other, message, signature)


def test_the_trail_csv_neutralises_formulas_and_still_verifies(organisation, org_admin, tmp_path, public_key):
    import csv

    texts = ['=HYPERLINK("http://evil.example","x")', "+1", "-2", "@SUM(A1)", "\tcmd", "\rcmd", "'quoted", "plain"]
    for text in texts:
        audit_record(verb="demo.named", target=organisation, actor=org_admin, object_repr=text, reason=text)
    events = list(AuditEvent.objects.filter(organisation=organisation).order_by("seq"))
    export = export_file(tmp_path, events, "csv")
    with open(export, encoding="utf-8", newline="") as handle:
        table = list(csv.reader(handle))
    columns = table[1]
    cells = [row[columns.index("reason")] for row in table[2:]][-len(texts) :]
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells), cells
    assert cells[0] == "'" + texts[0] and cells[-1] == "plain" and cells[-2] == "''quoted"
    result = run_tool(export, "--public-key", public_key)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_break_of_a_chain_is_listed_not_only_the_first(trail):
    with tampering() as cursor:
        for victim in (trail[1], trail[3]):
            cursor.execute("UPDATE audits_auditevent SET reason = %s WHERE id = %s", ["rewritten", victim.id])
    result = audit_trail_verify(organisation_id=trail[0].organisation_id)
    assert [b.seq for b in result.breaks] == [trail[1].seq, trail[3].seq]
    code, output = verify_command()
    assert code != 0
    assert f"#{trail[1].seq}" in output and f"#{trail[3].seq}" in output


def test_logging_in_outside_a_request_does_not_make_that_user_the_actor_of_later_events(
    client, organisation, org_admin
):
    client.force_login(org_admin, backend="django.contrib.auth.backends.ModelBackend")
    event = audit_record(verb="demo.later", target=organisation)
    assert event.actor_id is None

"""The audit trail anchored outside the database (issue #12 item 7): signed checkpoints of every
chain head in a file (and an object-locked S3 bucket), and the chain head signed into every
certificate and every export, so a database superuser who rewrites an event and recomputes every
later hash and the head is still caught -- in the portal and offline."""

from __future__ import annotations

import json
import os
import stat
import subprocess

import boto3
import pytest
from moto import mock_aws

from audits import checkpoints
from audits.certification import signing
from audits.services import audit_trail_checkpoint_write, audit_trail_verify, export_jsonl
from core.chain import compute_hash, verify_records
from core.models import AuditChainHead, AuditEvent
from core.trail import audit_record, chain_for
from tests.audits.certification_support import *  # noqa: F403
from tests.audits.test_audit_trail import tampering, verify_command
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_chains(organisation, other_organisation, org_admin, outsider):
    for n in range(3):
        audit_record(verb="demo.changed", target=org_admin, actor=org_admin, after={"n": n})
    audit_record(verb="demo.changed", target=outsider, actor=outsider, after={"n": 0})
    return chain_for(organisation.pk), chain_for(other_organisation.pk)


def rewrite_and_recompute(event: AuditEvent, *, reason: str) -> None:
    """What a database superuser can do: switch the append-only trigger off, rewrite one event,
    then recompute the hash of that event and of every later one, and the chain head, so the
    chain is consistent again."""
    with tampering() as cursor:
        cursor.execute("UPDATE audits_auditevent SET reason = %s WHERE id = %s", [reason, event.id])
        previous = event.prev_hash
        for later in AuditEvent.objects.filter(chain=event.chain, seq__gte=event.seq).order_by("seq"):
            later.prev_hash = previous
            new_hash = compute_hash(later.as_record())
            cursor.execute(
                "UPDATE audits_auditevent SET prev_hash = %s, hash = %s WHERE id = %s", [previous, new_hash, later.id]
            )
            previous = new_hash
        cursor.execute("UPDATE audits_auditchainhead SET hash = %s WHERE chain = %s", [previous, event.chain])


def key_file(tmp_path, name: str, pem: str):
    path = tmp_path / name
    path.write_text(pem)
    return path


def run_export_tool(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["python3", str(ROOT / "tools" / "verify_audit_export.py"), *map(str, args)], capture_output=True, text=True
    )


# --- checkpoints ---------------------------------------------------------------------------------


def test_a_checkpoint_signs_each_chain_head_that_moved_and_only_those(two_chains, organisation, org_admin):
    first = audit_trail_checkpoint_write()
    heads = {h.chain: (h.seq, h.hash) for h in AuditChainHead.objects.all()}
    assert {(d["payload"]["chain"], d["payload"]["seq"], d["payload"]["hash"]) for d in first} == {
        (chain, *heads[chain]) for chain in two_chains
    }
    path = checkpoints.checkpoint_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert audit_trail_checkpoint_write() == []
    audit_record(verb="demo.changed", target=org_admin, actor=org_admin)
    again = audit_trail_checkpoint_write()
    assert [d["payload"]["chain"] for d in again] == [two_chains[0]]
    lines = path.read_text().splitlines()
    assert len(lines) == 3
    public_key = checkpoints.checkpoint_public_key()
    for stored in checkpoints.read_file():
        assert checkpoints.signature_problem(stored, public_key) == ""


def test_the_checkpoint_key_is_its_own_and_kept_in_a_0600_file_outside_the_database(settings):
    signing.clear_key_cache()
    path = checkpoints.CHECKPOINT_KEY.path()
    assert checkpoints.checkpoint_key_id() != signing.key_id()
    assert path.name == "audit-checkpoint-ed25519.pem" and path.parent == settings.DATA_DIR / "keys"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_checkpoint_key_may_come_from_its_environment_variable(settings):
    import base64

    settings.AUDIT_CHECKPOINT_SIGNING_KEY = base64.b64encode(bytes(range(32))).decode()
    try:
        expected = signing.key_id_for(signing.parse_private_key(settings.AUDIT_CHECKPOINT_SIGNING_KEY).public_key())
        assert checkpoints.checkpoint_key_id() == expected
    finally:
        signing.clear_key_cache()


def test_an_edited_checkpoint_line_is_reported_by_verification(two_chains):
    audit_trail_checkpoint_write()
    path = checkpoints.checkpoint_file()
    lines = path.read_text().splitlines()
    document = json.loads(lines[0])
    document["payload"]["seq"] -= 1
    lines[0] = json.dumps(document)
    path.write_text("\n".join(lines) + "\n")
    result = audit_trail_verify(organisation_id=int(document["payload"]["chain"].split(":")[1]))
    assert not result.ok
    assert "does not verify" in result.breaks[0].problem and "line 1" in result.breaks[0].problem


def test_a_truncated_tail_is_caught_by_the_checkpoint_even_with_the_head_moved_back(two_chains, organisation):
    audit_trail_checkpoint_write()
    last = AuditEvent.objects.filter(chain=two_chains[0]).order_by("-seq").first()
    with tampering() as cursor:
        cursor.execute("DELETE FROM audits_auditevent WHERE id = %s", [last.id])
        cursor.execute(
            "UPDATE audits_auditchainhead SET seq = %s, hash = %s WHERE chain = %s",
            [last.seq - 1, last.prev_hash, last.chain],
        )
    assert verify_records(
        [e.as_record() for e in AuditEvent.objects.filter(chain=last.chain).order_by("seq")],
        heads={last.chain: (last.seq - 1, last.prev_hash)},
    ).ok, "the chain alone looks intact"
    result = audit_trail_verify(organisation_id=organisation.pk)
    assert [b.seq for b in result.breaks] == [last.seq]
    assert "no longer has" in result.breaks[0].problem


def test_the_beat_schedule_runs_the_checkpoint_task_and_a_worker_can_find_it(settings, two_chains):
    from audits.tasks_trail import audit_trail_checkpoint_task
    from config.celery import app

    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "audits.audit_trail_checkpoint")
    assert entry["schedule"].total_seconds() == settings.AUDIT_CHECKPOINT_INTERVAL_MINUTES * 60
    assert "audits.tasks_trail" in app.conf.imports
    assert sorted(audit_trail_checkpoint_task()["checkpoints"]) == sorted(
        f"{chain}#{AuditChainHead.objects.get(chain=chain).seq}" for chain in two_chains
    )


@pytest.fixture
def locked_bucket(settings, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("s3", region_name="eu-central-1")
        client.create_bucket(
            Bucket="portal-checkpoints",
            ObjectLockEnabledForBucket=True,
            CreateBucketConfiguration={"LocationConstraint": "eu-central-1"},
        )
        settings.STORAGES = {
            **settings.STORAGES,
            checkpoints.S3_STORAGE: {
                "BACKEND": "audits.checkpoint_storage.LockedS3Storage",
                "OPTIONS": {
                    "bucket_name": "portal-checkpoints",
                    "region_name": "eu-central-1",
                    "location": "audit-checkpoints",
                    "file_overwrite": False,
                    "default_acl": None,
                },
            },
        }
        from django.core.files.storage import storages

        storages._storages.pop(checkpoints.S3_STORAGE, None)
        yield client
        storages._storages.pop(checkpoints.S3_STORAGE, None)


def test_checkpoints_also_go_to_an_object_locked_s3_bucket_and_are_verified_from_there(
    locked_bucket, two_chains, organisation, settings
):
    written = audit_trail_checkpoint_write()
    objects = locked_bucket.list_objects_v2(Bucket="portal-checkpoints")["Contents"]
    assert len(objects) == len(written) == 2
    head = locked_bucket.head_object(Bucket="portal-checkpoints", Key=objects[0]["Key"])
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert (
        head["ObjectLockRetainUntilDate"] - head["LastModified"]
    ).days >= settings.AUDIT_CHECKPOINT_S3_RETENTION_DAYS - 1
    # Someone who can also wipe the local file is still caught by the bucket's copy.
    checkpoints.checkpoint_file().unlink()
    rewrite_and_recompute(AuditEvent.objects.get(chain=two_chains[0], seq=1), reason="nothing happened")
    result = audit_trail_verify(organisation_id=organisation.pk)
    assert not result.ok
    assert any("s3://portal-checkpoints/audit-checkpoints/" in b.problem for b in result.breaks)


# --- the superuser rewrite -----------------------------------------------------------------------


def test_a_superuser_rewrite_with_every_hash_recomputed_is_caught_by_the_checkpoint_and_the_certificate(
    high_risk_approved, auditor, tmp_path
):
    certificate = high_risk_approved.certificate
    anchor = certificate.document["payload"]["audit_anchor"]
    chain = chain_for(certificate.organisation_id)
    assert anchor["chain"] == chain and anchor["seq"] > 1
    events = AuditEvent.objects.filter(chain=chain)
    before_export = tmp_path / "before.jsonl"
    before_export.write_text("".join(export_jsonl(events, complete=True, chain=chain)), encoding="utf-8")
    audit_trail_checkpoint_write()
    checkpointed = AuditChainHead.objects.get(chain=chain).seq
    assert audit_trail_verify(organisation_id=certificate.organisation_id).ok

    rewrite_and_recompute(events.get(seq=1), reason="this never happened")

    head = AuditChainHead.objects.get(chain=chain)
    records = [e.as_record() for e in events.order_by("seq")]
    assert verify_records(records, heads={chain: (head.seq, head.hash)}).ok, "the hashes alone no longer tell"
    result = audit_trail_verify(organisation_id=certificate.organisation_id)
    assert not result.ok
    problems = {b.seq: b.problem for b in result.breaks}
    assert "checkpoint" in problems[checkpointed] and "rewritten" in problems[checkpointed]
    assert f"certificate {certificate.pk}" in problems[anchor["seq"]]
    code, output = verify_command()
    assert code != 0 and "checkpoint" in output and str(certificate.pk) in output

    # Offline, from the documents alone: an export made now is signed and internally consistent,
    # but disagrees with the certificate's anchor and with the export made before the rewrite.
    after_export = tmp_path / "after.jsonl"
    after_export.write_text("".join(export_jsonl(events, complete=True, chain=chain)), encoding="utf-8")
    trail_key = key_file(tmp_path, "trail.pem", checkpoints.checkpoint_public_key_pem())
    certificate_key = key_file(tmp_path, "certificate.pem", signing.public_key_pem())
    certificate_file = tmp_path / "certificate.json"
    certificate_file.write_text(json.dumps(certificate.document))
    alone = run_export_tool(after_export, "--public-key", trail_key)
    assert alone.returncode == 0, alone.stdout + alone.stderr
    anchored = run_export_tool(
        after_export,
        "--public-key",
        trail_key,
        "--public-key",
        certificate_key,
        "--anchor",
        certificate_file,
        "--anchor",
        before_export,
    )
    assert anchored.returncode == 1, anchored.stdout + anchored.stderr
    assert f"certificate {certificate_file} anchored event #{anchor['seq']}" in anchored.stdout
    assert f"the export {before_export} anchored event #" in anchored.stdout
    untouched = run_export_tool(
        before_export, "--public-key", trail_key, "--public-key", certificate_key, "--anchor", certificate_file
    )
    assert untouched.returncode == 0, untouched.stdout + untouched.stderr
    assert "matches" in untouched.stdout


def test_an_anchor_whose_own_signature_fails_is_reported(high_risk_approved, tmp_path):
    certificate = high_risk_approved.certificate
    chain = chain_for(certificate.organisation_id)
    export = tmp_path / "trail.jsonl"
    export.write_text(
        "".join(export_jsonl(AuditEvent.objects.filter(chain=chain), complete=True, chain=chain)), encoding="utf-8"
    )
    document = json.loads(json.dumps(certificate.document))
    document["payload"]["audit_anchor"]["hash"] = "f" * 64
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(document))
    result = run_export_tool(
        export,
        "--public-key",
        key_file(tmp_path, "t.pem", checkpoints.checkpoint_public_key_pem()),
        "--public-key",
        key_file(tmp_path, "c.pem", signing.public_key_pem()),
        "--anchor",
        forged,
    )
    assert result.returncode == 1 and "signature does not match" in result.stdout


# --- certificates carry the anchor, and old ones still verify --------------------------------------


def test_a_new_certificate_carries_payload_version_2_and_the_chain_head_at_signing(high_risk_approved):
    certificate = high_risk_approved.certificate
    payload = certificate.document["payload"]
    assert payload["payload_version"] == 2
    issued = AuditEvent.objects.get(verb="certificate.issued", object_id=str(certificate.pk))
    # Signed just before its own "certificate.issued" event: the anchor is the event before it.
    assert payload["audit_anchor"] == {"chain": issued.chain, "seq": issued.seq - 1, "hash": issued.prev_hash}


def test_the_offline_tool_verifies_old_and_new_certificates(high_risk_approved, tmp_path):
    certificate = high_risk_approved.certificate
    old_payload = {
        k: v for k, v in certificate.document["payload"].items() if k not in {"payload_version", "audit_anchor"}
    }
    key = key_file(tmp_path, "certificate.pem", signing.public_key_pem())
    for name, document in (("new", certificate.document), ("old", signing.sign_document(old_payload))):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(document))
        result = subprocess.run(
            ["python3", str(ROOT / "tools" / "verify_certificate.py"), str(path), "--public-key", str(key)],
            capture_output=True,
            text=True,
            env={**os.environ},
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert ("audit trail: event #" in result.stdout) == (name == "new")


def test_the_public_page_verifies_a_new_certificate_and_shows_its_anchor(high_risk_approved, client):
    from django.core.cache import cache

    cache.clear()
    certificate = high_risk_approved.certificate
    response = client.post("/certificates/verify/", {"document": json.dumps(certificate.document)})
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="verdict-word">VALID<' in body
    assert f"event #{certificate.document['payload']['audit_anchor']['seq']} of chain" in body

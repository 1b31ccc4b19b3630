"""Starting, cancelling, claiming and reaping validation runs (services, against the database), and
the task body run in-process for the paths a real worker cannot provoke on demand."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audits.choices import RUN_TRANSITIONS, can_move
from audits.models import CheckResultRecord, Finding, ValidationPolicySettings, ValidationRun
from audits.validation.services import (
    validation_cancel,
    validation_claim,
    validation_reap_stale,
    validation_record_result,
    validation_start,
)
from core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from core.models import AuditEvent
from tests.audits.validation_support import credit, register_credit_system  # noqa: F401

pytestmark = pytest.mark.django_db


def start(actor, credit, **overrides):
    args = {"actor": actor, "model_version": credit.version, "test_dataset": credit.test, "suite": "quick"}
    args.update(overrides)
    return validation_start(**args)


def verbs(run) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="audits.validationrun", object_id=str(run.pk))
        .order_by("seq")
        .values_list("verb", flat=True)
    )


# --- starting ----------------------------------------------------------------------------------


def test_starting_a_run_queues_it_on_commit_and_records_who_started_it(
    ml_engineer, credit, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = start(ml_engineer, credit, train_dataset=credit.train, policy_overrides={"performance.min_auc": 0.6})
    assert len(callbacks) == 1, "the task is sent once the transaction commits"
    assert (run.status, run.system, run.task, run.requested_by) == ("queued", credit.system, "binary", ml_engineer)
    assert run.policy["performance"]["min_auc"] == 0.6
    assert run.reproducibility["inputs"]["model_sha256"] == credit.version.artifact.sha256
    assert run.reproducibility["inputs"]["train_dataset_sha256"] == credit.train.artifact.sha256
    event = AuditEvent.objects.get(verb="validation.started")
    assert (event.actor, event.object_id, event.after["suite"]) == (ml_engineer, str(run.pk), "quick")
    assert event.after["policy_overrides"] == {"performance.min_auc": 0.6}


@pytest.mark.parametrize(
    ("tier", "suite"),
    [
        ("high", "full"),
        ("prohibited", "full"),
        ("limited", "standard"),
        ("minimal", "standard"),
        ("unclassified", "standard"),
    ],
)
def test_the_default_suite_follows_the_systems_risk_tier(ml_engineer, credit, tier, suite):
    type(credit.system).objects.filter(pk=credit.system.pk).update(risk_tier=tier)
    credit.version.system.refresh_from_db()
    assert start(ml_engineer, credit, suite=None).suite == suite


def test_an_auditor_may_start_a_run_for_a_re_run(auditor, ml_engineer, credit):
    assert start(auditor, credit).requested_by == auditor


def test_a_compliance_officer_may_not_start_a_run(compliance_officer, credit):
    with pytest.raises(NotAllowed):
        start(compliance_officer, credit)


def test_a_model_version_of_another_organisation_is_not_found(outsider, credit):
    from core.choices import Role
    from tests.conftest import make_user

    stranger = make_user(outsider.organisation, "sven", Role.ML_ENGINEER)
    with pytest.raises(NotFound):
        start(stranger, credit)


def test_unknown_policy_keys_are_refused_with_a_message_that_names_them(ml_engineer, credit):
    with pytest.raises(ValidationFailed) as error:
        start(ml_engineer, credit, policy_overrides={"fairness.dp_ratio_mni": 0.8})
    assert error.value.code == "invalid_policy"
    assert (
        "fairness.dp_ratio_mni" in error.value.message and "Did you mean fairness.dp_ratio_min" in error.value.message
    )


def test_a_policy_value_of_the_wrong_type_is_refused(ml_engineer, credit):
    with pytest.raises(ValidationFailed, match="expects float"):
        start(ml_engineer, credit, policy_overrides={"performance.min_auc": "high"})


def test_overrides_are_refused_where_the_organisation_does_not_allow_them(ml_engineer, credit):
    settings_row = ValidationPolicySettings.objects.create(organisation=ml_engineer.organisation, allow_overrides=False)
    with pytest.raises(NotAllowed) as error:
        start(ml_engineer, credit, policy_overrides={"performance.min_auc": 0.6})
    assert error.value.code == "overrides_not_allowed"
    assert start(ml_engineer, credit).policy_overrides == {}, "a run without overrides is still allowed"
    settings_row.allow_overrides, settings_row.locked_keys = True, ["fairness.dp_ratio_min"]
    settings_row.save()
    with pytest.raises(NotAllowed, match="locked"):
        start(ml_engineer, credit, policy_overrides={"fairness": {"dp_ratio_min": 0.5}})
    assert start(ml_engineer, credit, policy_overrides={"performance.min_auc": 0.6}).pk


def test_a_model_version_refused_by_the_scan_cannot_be_validated(ml_engineer, credit):
    type(credit.version).objects.filter(pk=credit.version.pk).update(scan_verdict="refused")
    credit.version.refresh_from_db()
    with pytest.raises(ValidationFailed) as error:
        start(ml_engineer, credit)
    assert error.value.code == "model_not_safe"


def test_datasets_of_another_system_are_refused(ml_engineer, credit):
    other = register_credit_system(ml_engineer, name="Fraud detection")
    with pytest.raises(ValidationFailed) as error:
        start(ml_engineer, credit, test_dataset=other.test)
    assert error.value.code == "dataset_other_system"
    with pytest.raises(ValidationFailed) as error:
        start(ml_engineer, credit, train_dataset=other.train)
    assert error.value.extra["field"] == "train_dataset"


def test_a_test_dataset_without_a_target_column_is_refused(ml_engineer, credit):
    type(credit.test).objects.filter(pk=credit.test.pk).update(target_column="")
    credit.test.refresh_from_db()
    with pytest.raises(ValidationFailed) as error:
        start(ml_engineer, credit)
    assert error.value.code == "test_dataset_without_target"


def test_a_predictions_only_run_needs_a_prediction_column(ml_engineer, credit):
    with pytest.raises(ValidationFailed) as error:
        start(ml_engineer, credit, model_version=None, system=credit.system)
    assert error.value.code == "predictions_required"


def test_an_unknown_suite_is_refused(ml_engineer, credit):
    with pytest.raises(ValidationFailed, match="Suite must be one of"):
        start(ml_engineer, credit, suite="everything")


# --- status and cancelling -------------------------------------------------------------------


def test_the_transition_table_only_lets_runs_end_once():
    assert can_move("queued", "running") and can_move("running", "succeeded") and can_move("queued", "cancelled")
    assert not can_move("succeeded", "running") and not can_move("failed", "queued")
    assert all(not RUN_TRANSITIONS[s] for s in ("succeeded", "failed", "cancelled"))


def test_cancelling_a_queued_run_ends_it_at_once(ml_engineer, credit):
    run = validation_cancel(actor=ml_engineer, run=start(ml_engineer, credit), reason="wrong dataset")
    assert (run.status, run.cancel_requested) == ("cancelled", True)
    assert verbs(run) == ["validation.started", "validation.cancelled"]
    assert validation_claim(run_id=run.pk, token="t1") is None, "a worker no longer takes it"


def test_cancelling_a_running_run_asks_it_to_stop(ml_engineer, auditor, credit):
    run = start(ml_engineer, credit)
    validation_claim(run_id=run.pk, token="t1")
    run = validation_cancel(actor=auditor, run=run)
    assert (run.status, run.cancel_requested) == ("running", True)
    assert verbs(run) == ["validation.started", "validation.attempt_started", "validation.cancel_requested"]


def test_a_finished_run_cannot_be_cancelled(ml_engineer, credit):
    run = validation_cancel(actor=ml_engineer, run=start(ml_engineer, credit))
    with pytest.raises(Conflict, match="nothing to cancel"):
        validation_cancel(actor=ml_engineer, run=run)


def test_a_compliance_officer_may_not_cancel(ml_engineer, compliance_officer, credit):
    with pytest.raises(NotAllowed):
        validation_cancel(actor=compliance_officer, run=start(ml_engineer, credit))


# --- the worker's side ------------------------------------------------------------------------


def test_a_run_is_claimed_once_and_a_second_delivery_exits(ml_engineer, credit):
    run = start(ml_engineer, credit)
    assert validation_claim(run_id=run.pk, token="first").status == "running"
    assert validation_claim(run_id=run.pk, token="second") is None
    assert validation_claim(run_id=run.pk, token="second", resume=True) is None, "only the holder may resume"
    assert validation_claim(run_id=run.pk, token="first", resume=True) is not None


RESULT = {
    "check_id": "PERF-01",
    "family": "performance",
    "name": "Holdout metrics",
    "status": "fail",
    "severity": "high",
    "value": 0.61,
    "threshold": {"op": ">=", "value": 0.7},
    "ci": [0.55, 0.67],
    "summary": "AUC 0.61 is below 0.7.",
    "details": {"auc": 0.61},
    "charts": [{"data": [], "layout": {}}],
    "finding": {
        "title": "Weak AUC",
        "description": "AUC 0.61 is below 0.7.",
        "affected": None,
        "evidence": 0.61,
        "recommendation": "Retrain.",
        "eu_ai_act_article": "Art. 15(1)",
    },
    "duration_s": 0.1,
    "error": None,
}


def test_a_result_written_twice_is_stored_once_with_one_finding(ml_engineer, credit):
    run = validation_claim(run_id=start(ml_engineer, credit).pk, token="t1")
    validation_record_result(run=run, token="t1", result=RESULT)
    validation_record_result(run=run, token="t1", result={**RESULT, "value": 0.62})
    assert CheckResultRecord.objects.filter(run=run).count() == 1
    assert CheckResultRecord.objects.get(run=run).value == 0.62
    finding = Finding.objects.get(run=run)
    assert (finding.severity, finding.category, finding.eu_ai_act_article, finding.system, finding.model_version) == (
        "high",
        "performance",
        "Art. 15(1)",
        credit.system,
        credit.version,
    )


def test_a_passing_result_makes_no_finding(ml_engineer, credit):
    run = validation_claim(run_id=start(ml_engineer, credit).pk, token="t1")
    validation_record_result(run=run, token="t1", result={**RESULT, "status": "pass", "finding": None})
    assert not Finding.objects.exists()


def test_the_reaper_fails_a_run_whose_heartbeat_stopped_on_its_last_attempt_and_says_why(ml_engineer, credit, settings):
    settings.VALIDATION_STALE_AFTER_S, settings.VALIDATION_MAX_ATTEMPTS = 300, 1
    stale, fresh = start(ml_engineer, credit), start(ml_engineer, credit)
    for run in (stale, fresh):
        validation_claim(run_id=run.pk, token=f"t{run.pk}")
    ValidationRun.objects.filter(pk=stale.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=6))
    assert validation_reap_stale() == [stale.pk]
    stale.refresh_from_db()
    assert stale.status == "failed" and "no sign of life for 5 minutes" in stale.error_message
    assert ValidationRun.objects.get(pk=fresh.pk).status == "running"
    event = AuditEvent.objects.get(verb="validation.failed", object_id=str(stale.pk))
    assert event.after == {"status": "failed", "reaped": True, "attempts": 1, "worker_lost": True}
    assert event.actor is None, "the portal itself ended it"
    assert validation_reap_stale() == [], "reaping twice changes nothing"


def test_the_reaper_fails_a_queued_run_no_worker_picked_up_and_asks_whether_a_worker_runs(
    ml_engineer, credit, settings
):
    settings.VALIDATION_QUEUED_TIMEOUT_S = 1800
    forgotten, recent = start(ml_engineer, credit), start(ml_engineer, credit)
    ValidationRun.objects.filter(pk=forgotten.pk).update(created_at=timezone.now() - timedelta(minutes=31))
    assert validation_reap_stale() == [forgotten.pk]
    forgotten.refresh_from_db()
    assert forgotten.status == "failed" and forgotten.finished_at is not None
    assert forgotten.error_message.startswith("No worker picked this run up within 30 minutes; is a worker running?")
    assert "queued at" in forgotten.error_detail
    assert ValidationRun.objects.get(pk=recent.pk).status == "queued", "a run queued a moment ago waits on"
    event = AuditEvent.objects.get(verb="validation.failed", object_id=str(forgotten.pk))
    assert (event.actor, event.reason) == (None, forgotten.error_message)
    assert (event.before, event.after) == (
        {"status": "queued"},
        {"status": "failed", "reaped": True, "never_started": True},
    )
    assert validation_claim(run_id=forgotten.pk, token="late") is None, "a worker arriving late finds it ended"
    assert validation_reap_stale() == [], "reaping twice changes nothing"


def test_the_queued_run_limit_comes_from_the_settings(ml_engineer, credit, settings):
    settings.VALIDATION_QUEUED_TIMEOUT_S = 120
    run = start(ml_engineer, credit)
    ValidationRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(minutes=3))
    assert validation_reap_stale() == [run.pk]
    assert "within 2 minutes" in ValidationRun.objects.get(pk=run.pk).error_message


@pytest.mark.parametrize(("value", "message"), [("30m", "is not a whole number"), ("59", "below the minimum of 60")])
def test_a_malformed_queued_run_limit_stops_start_up_naming_the_variable(value, message):
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {**os.environ, "DEBUG": "1", "VALIDATION_QUEUED_TIMEOUT_S": value}
    result = subprocess.run(
        [sys.executable, "-c", "import config.settings"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0 and "VALIDATION_QUEUED_TIMEOUT_S" in result.stderr and message in result.stderr


def test_an_organisation_admin_sets_the_override_policy_and_it_is_audited(org_admin, ml_engineer, credit):
    from audits.validation.services import validation_policy_settings_update

    with pytest.raises(NotAllowed):
        validation_policy_settings_update(actor=ml_engineer, allow_overrides=False)
    with pytest.raises(ValidationFailed, match="Unknown policy key"):
        validation_policy_settings_update(actor=org_admin, allow_overrides=True, locked_keys=["fairness.nope"])
    validation_policy_settings_update(
        actor=org_admin,
        allow_overrides=True,
        locked_keys=["fairness.dp_ratio_min"],
        reason="set by the model risk committee",
    )
    event = AuditEvent.objects.get(verb="validation_policy.updated")
    assert event.after == {"allow_overrides": True, "locked_keys": ["fairness.dp_ratio_min"]}
    with pytest.raises(NotAllowed, match="locked"):
        start(ml_engineer, credit, policy_overrides={"fairness.dp_ratio_min": 0.5})

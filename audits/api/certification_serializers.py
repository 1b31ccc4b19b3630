"""Serializers of the certification API (`audits.api.certification_views`): what it answers and
what it accepts. They check the shape of a request; the services decide."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from audits.certification import certificates as certificate_services
from audits.certification import services
from audits.certification.choices import DecisionKind, SignOffDecision
from audits.certification.models import (
    Certificate,
    Condition,
    DissentingOpinion,
    FindingComment,
    FindingDecision,
    Rerun,
    ReviewAssignment,
    SignOff,
    Submission,
)
from audits.certification.resolution import ESCALATION_OUTCOMES
from audits.certification.selectors import approval_blockers
from audits.models import Finding, ValidationRun
from core.models import User
from governance.risks.models import Risk
from models_registry.models import ModelVersion

# --- serializers: what the API answers ------------------------------------------------------------


def _person(user) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "username": user.username, "name": user.get_full_name() or user.username}


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()


class CertificateRefSerializer(serializers.ModelSerializer):
    effective_status = serializers.SerializerMethodField(
        help_text="What a verifier sees: `expired` once past valid_until even before the nightly sweep."
    )
    document_url = serializers.SerializerMethodField()
    verify_url = serializers.SerializerMethodField()

    class Meta:
        model = Certificate
        fields = [
            "id",
            "status",
            "effective_status",
            "valid_from",
            "valid_until",
            "status_reason",
            "status_changed_at",
            "key_id",
            "payload_sha256",
            "document_url",
            "verify_url",
        ]
        read_only_fields = fields

    def get_effective_status(self, certificate) -> str:
        return certificate_services.effective_status(certificate)

    def get_document_url(self, certificate) -> str:
        return reverse("api:certificate-document", args=[certificate.pk])

    def get_verify_url(self, certificate) -> str:
        return reverse("certificate_verify_id", args=[certificate.pk])


def _certificate(submission) -> dict | None:
    try:
        return CertificateRefSerializer(submission.certificate).data
    except Certificate.DoesNotExist:
        return None


class SubmissionSerializer(serializers.ModelSerializer):
    system_name = serializers.CharField(source="system.name", read_only=True)
    version_label = serializers.CharField(source="model_version.version_label", read_only=True)
    submitted_by = serializers.SerializerMethodField()
    certificate = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Submission
        fields = [
            "id",
            "reference",
            "url",
            "status",
            "system",
            "system_name",
            "model_version",
            "version_label",
            "validation_run",
            "risk_tier",
            "submitted_by",
            "submitted_at",
            "decided_at",
            "frozen_sha256",
            "lock_version",
            "certificate",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(PersonSerializer)
    def get_submitted_by(self, submission):
        return _person(submission.submitted_by)

    @extend_schema_field(CertificateRefSerializer(allow_null=True))
    def get_certificate(self, submission):
        return _certificate(submission)

    def get_url(self, submission) -> str:
        return reverse("api:submission-detail", args=[submission.pk])


class SubmissionAssignmentSerializer(serializers.ModelSerializer):
    reviewer = serializers.SerializerMethodField()
    assigned_by = serializers.CharField(source="assigned_by.username", read_only=True)

    class Meta:
        model = ReviewAssignment
        fields = ["id", "reviewer", "reviewer_role", "active", "assigned_by", "created_at"]
        read_only_fields = fields

    @extend_schema_field(PersonSerializer)
    def get_reviewer(self, assignment):
        return _person(assignment.reviewer)


class SubmissionFindingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Finding
        fields = ["id", "check_id", "severity", "title", "status", "eu_ai_act_article"]
        read_only_fields = fields


class SubmissionDecisionSerializer(serializers.ModelSerializer):
    check_id = serializers.CharField(source="finding.check_id", read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", read_only=True)

    class Meta:
        model = FindingDecision
        fields = [
            "id",
            "finding",
            "check_id",
            "decision",
            "justification",
            "risk",
            "decided_by",
            "updated_at",
            "mitigation_run",
            "mitigated_at",
            "escalation_decided_by",
            "escalation_decided_at",
        ]
        read_only_fields = fields


class SubmissionCommentSerializer(serializers.ModelSerializer):
    check_id = serializers.CharField(source="finding.check_id", read_only=True)
    author = serializers.CharField(source="author.username", read_only=True)

    class Meta:
        model = FindingComment
        fields = ["id", "finding", "check_id", "parent", "author", "body", "created_at"]
        read_only_fields = fields


class SubmissionSignOffSerializer(serializers.ModelSerializer):
    signer = serializers.SerializerMethodField()

    class Meta:
        model = SignOff
        fields = ["id", "signer", "signer_role", "decision", "reason", "valid_until", "created_at"]
        read_only_fields = fields

    @extend_schema_field(PersonSerializer)
    def get_signer(self, signoff):
        return _person(signoff.signer)


class SubmissionConditionSerializer(serializers.ModelSerializer):
    owner = serializers.SerializerMethodField()

    class Meta:
        model = Condition
        fields = ["id", "text", "owner", "due_date", "status", "met_at", "met_note", "finding"]
        read_only_fields = fields

    @extend_schema_field(PersonSerializer)
    def get_owner(self, condition):
        return _person(condition.owner)


class SubmissionDissentSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", read_only=True)

    class Meta:
        model = DissentingOpinion
        fields = ["id", "author", "opinion", "created_at"]
        read_only_fields = fields


class SubmissionRerunSerializer(serializers.ModelSerializer):
    run_status = serializers.CharField(
        source="run.status", read_only=True, help_text="queued | running | succeeded | failed | cancelled"
    )
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    diff_url = serializers.SerializerMethodField()

    class Meta:
        model = Rerun
        fields = ["id", "run", "run_status", "requested_by", "created_at", "diff_url"]
        read_only_fields = fields

    def get_diff_url(self, rerun) -> str:
        return reverse("api:submission-rerun-diff", args=[rerun.submission_id, rerun.run_id])


class ApprovalBlockerSerializer(serializers.Serializer):
    """A finding that stops an approval (the same shape as a 409's `extra.blockers`)."""

    finding = serializers.IntegerField()
    check_id = serializers.CharField()
    title = serializers.CharField()
    severity = serializers.CharField()
    decision = serializers.CharField(allow_null=True, help_text="The current decision, null when undecided.")
    kind = serializers.CharField(help_text="undecided, mitigation_required or escalated.")
    reason = serializers.CharField()
    url = serializers.CharField(help_text="The finding on the sign-off page.")


def _review_state(submission) -> dict:
    # Cached on the instance: the fields of one answer come from the same queries.
    if not hasattr(submission, "_api_review_state"):
        submission._api_review_state = {
            "approvals_needed": sorted(services.approvals_needed(submission)),
            "undecided_critical": list(
                services.undecided_critical_findings(submission).values_list("check_id", flat=True)
            ),
            "approval_blockers": approval_blockers(submission=submission),
        }
    return submission._api_review_state


class SubmissionStatusSerializer(serializers.ModelSerializer):
    """What CI polls: the status, what is still missing, and the certificate once issued."""

    approvals_needed = serializers.SerializerMethodField(
        help_text='Reviewer roles whose approval is missing ("any" for one reviewer of any role).'
    )
    undecided_critical = serializers.SerializerMethodField(help_text="Critical findings without a decision.")
    approval_blockers = serializers.SerializerMethodField(
        help_text="Every finding that stops an approval: undecided, require mitigation without a mitigating "
        "run or a condition, or escalated and not decided by the escalation role."
    )
    certificate = serializers.SerializerMethodField()

    class Meta:
        model = Submission
        fields = [
            "id",
            "reference",
            "status",
            "lock_version",
            "submitted_at",
            "decided_at",
            "approvals_needed",
            "undecided_critical",
            "approval_blockers",
            "certificate",
        ]
        read_only_fields = fields

    def get_approvals_needed(self, submission) -> list[str]:
        return _review_state(submission)["approvals_needed"]

    @extend_schema_field(ApprovalBlockerSerializer(many=True))
    def get_approval_blockers(self, submission) -> list[dict]:
        return _review_state(submission)["approval_blockers"]

    def get_undecided_critical(self, submission) -> list[str]:
        return _review_state(submission)["undecided_critical"]

    @extend_schema_field(CertificateRefSerializer(allow_null=True))
    def get_certificate(self, submission):
        return _certificate(submission)


class SubmissionDetailSerializer(SubmissionSerializer):
    """One submission with everything a reviewer or a pipeline needs to act on it."""

    hashes = serializers.SerializerMethodField(help_text="The frozen hashes: model, datasets, results.")
    reviewers = SubmissionAssignmentSerializer(source="assignments", many=True, read_only=True)
    findings = serializers.SerializerMethodField()
    decisions = SubmissionDecisionSerializer(many=True, read_only=True)
    comments = SubmissionCommentSerializer(many=True, read_only=True)
    signoffs = SubmissionSignOffSerializer(many=True, read_only=True)
    conditions = SubmissionConditionSerializer(many=True, read_only=True)
    dissents = SubmissionDissentSerializer(many=True, read_only=True)
    reruns = SubmissionRerunSerializer(many=True, read_only=True)
    approvals_needed = serializers.SerializerMethodField()
    undecided_critical = serializers.SerializerMethodField()

    class Meta(SubmissionSerializer.Meta):
        fields = [
            *SubmissionSerializer.Meta.fields,
            "note",
            "determination",
            "previous",
            "decision_reason",
            "hashes",
            "frozen",
            "carried_points",
            "reviewers",
            "findings",
            "decisions",
            "comments",
            "signoffs",
            "conditions",
            "dissents",
            "reruns",
            "approvals_needed",
            "undecided_critical",
        ]
        read_only_fields = fields

    def get_hashes(self, submission) -> dict:
        frozen = submission.frozen or {}
        if not frozen:
            return {}
        return {
            "model_sha256": frozen["model"]["sha256"],
            "results_sha256": frozen["validation"]["results_sha256"],
            "datasets": [{"role": d["role"], "name": d["name"], "sha256": d["sha256"]} for d in frozen["datasets"]],
            "submission_sha256": submission.frozen_sha256,
        }

    @extend_schema_field(SubmissionFindingSerializer(many=True))
    def get_findings(self, submission):
        return SubmissionFindingSerializer(submission.validation_run.findings.order_by("check_id"), many=True).data

    def get_approvals_needed(self, submission) -> list[str]:
        return _review_state(submission)["approvals_needed"]

    def get_undecided_critical(self, submission) -> list[str]:
        return _review_state(submission)["undecided_critical"]


class CertificateVerificationSerializer(serializers.Serializer):
    status = serializers.CharField(
        help_text="valid | expired | suspended | revoked | not_yet_valid, from the "
        "portal's record; `invalid` for a document that is not exactly what "
        "this portal signed and issued."
    )
    signature_valid = serializers.BooleanField()
    issued_by_this_portal = serializers.BooleanField(
        help_text="The document's payload has the SHA-256 of a certificate this portal issued."
    )
    certificate_id = serializers.UUIDField(allow_null=True)
    reason = serializers.CharField(help_text="The verdict in words.")


# --- serializers: what the API accepts ------------------------------------------------------------


class _OrgField(serializers.PrimaryKeyRelatedField):
    """A primary key of an object of the caller's organisation; others read as 'does not exist'."""

    def __init__(self, *, permission: str = "", **kwargs):
        self.permission = permission
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.queryset.restrict(self.context["request"].user, self.permission)


class SubmissionCreateSerializer(serializers.Serializer):
    model_version = _OrgField(queryset=ModelVersion.objects.all(), permission="system.view")
    validation_run = _OrgField(
        queryset=ValidationRun.objects.all(),
        permission="validation.view",
        required=False,
        allow_null=True,
        help_text="Default: the newest finished run with the suite the system's risk tier needs.",
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class SubmissionAssignSerializer(serializers.Serializer):
    reviewer = _OrgField(
        queryset=User.objects.filter(is_active=True), help_text="User id of an auditor or a compliance officer."
    )


class FindingDecideSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=DecisionKind.choices)
    justification = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=10_000,
        default="",
        help_text="Required (10+ characters) for accept_risk and false_positive.",
    )
    risk = _OrgField(
        queryset=Risk.objects.all(),
        permission="risk.view",
        required=False,
        allow_null=True,
        help_text="A risk-register entry the accepted risk is recorded under.",
    )


class FindingDecideManySerializer(FindingDecideSerializer):
    findings = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        min_length=1,
        max_length=services.MAX_BULK_DECISIONS,
        help_text="Ids of the findings to decide, each in the submission in review you are assigned to.",
    )


class FindingDecideManyResultSerializer(serializers.Serializer):
    decided = SubmissionDecisionSerializer(many=True)


class FindingCommentCreateSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=10_000, trim_whitespace=True)
    parent = serializers.IntegerField(required=False, allow_null=True, help_text="The comment this replies to.")


class SubmissionReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=5000)
    expected_version = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, help_text="The lock_version you read; 409 `stale` if it changed."
    )


class SubmissionResubmitSerializer(serializers.Serializer):
    expected_version = serializers.IntegerField(required=False, allow_null=True, min_value=0)


class SignOffConditionSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=2000)
    owner = serializers.IntegerField(help_text="User id of the person responsible, in your organisation.")
    due_date = serializers.DateField()


class FindingConditionCreateSerializer(serializers.Serializer):
    text = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, default="", help_text="Default: “Mitigate <check>: <title>”."
    )
    owner = serializers.IntegerField(help_text="User id of the person responsible, in your organisation.")
    due_date = serializers.DateField()


class FindingMitigationSerializer(serializers.Serializer):
    run = _OrgField(
        queryset=ValidationRun.objects.all(),
        permission="validation.view",
        help_text="A later succeeded run of the same AI system in which the finding's check passed.",
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=10_000, default="")


class FindingEscalationDecideSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=[(d.value, d.label) for d in ESCALATION_OUTCOMES])
    justification = serializers.CharField(max_length=10_000, help_text="Required, 10+ characters.")


class SubmissionSignSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=SignOffDecision.choices)
    reason = serializers.CharField(max_length=5000)
    password = serializers.CharField(
        write_only=True,
        trim_whitespace=False,
        style={"input_type": "password"},
        help_text="Your portal password, re-entered: sign-off re-authenticates.",
    )
    conditions = SignOffConditionSerializer(
        many=True, required=False, help_text="Only with approve_with_conditions (then at least one)."
    )
    valid_until = serializers.DateField(
        required=False, allow_null=True, help_text="Required with conditions; default one year for an approval."
    )
    expected_version = serializers.IntegerField(required=False, allow_null=True, min_value=0)


class SignOffResultSerializer(serializers.Serializer):
    signoff = SubmissionSignOffSerializer()
    submission = SubmissionStatusSerializer()


class SubmissionDissentCreateSerializer(serializers.Serializer):
    opinion = serializers.CharField(max_length=10_000)


class CertificateReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=5000)


class ConditionMetSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=5000, help_text="How the condition was met.")


class RerunDiffSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    run_status = serializers.CharField()
    finished = serializers.BooleanField()
    identical = serializers.BooleanField(allow_null=True, help_text="Null until the re-run has succeeded.")
    diff = serializers.DictField(allow_null=True, help_text="Check by check: before, after, same, changed.")

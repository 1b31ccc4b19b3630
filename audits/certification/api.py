"""REST API of certification, for teams that automate: submit a model version from CI, poll its
status, and, for reviewers, the same review and sign-off steps as the browser. Plus the two
public endpoints that verify a certificate without logging in.

Thin adapters: serializers check the shape of a request, the services in
`audits.certification.services` / `.certificates` decide, and their errors come out as
{"message", "code", "extra"} through `core.api.errors`. Reads go through
`Model.objects.restrict(user, permission)`, so another organisation's objects answer 404.
"""

from __future__ import annotations

import json

import django_filters
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from audits.certification import certificates as certificate_services
from audits.certification import public_views
from audits.certification import services
from audits.certification.choices import DecisionKind, SignOffDecision, SubmissionStatus
from audits.certification.freeze import results_diff
from audits.certification.models import (Certificate, Condition, DissentingOpinion, FindingComment, FindingDecision,
                                         ReviewAssignment, Rerun, SignOff, Submission)
from audits.models import Finding, ValidationRun
from core.errors import TooLarge
from core.models import User
from core.permissions import HasPortalPermission
from governance.risks.models import Risk
from models_registry.models import ModelVersion

ERRORS = {400: OpenApiResponse(description='Invalid input: {"message", "code", "extra"}'),
          403: OpenApiResponse(description="Your role, or separation of duties, does not allow this."),
          404: OpenApiResponse(description="No such object in your organisation."),
          409: OpenApiResponse(description="The submission's state does not allow this (or it changed meanwhile).")}


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
        help_text="What a verifier sees: `expired` once past valid_until even before the nightly sweep.")
    document_url = serializers.SerializerMethodField()
    verify_url = serializers.SerializerMethodField()

    class Meta:
        model = Certificate
        fields = ["id", "status", "effective_status", "valid_from", "valid_until", "status_reason",
                  "status_changed_at", "key_id", "payload_sha256", "document_url", "verify_url"]
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
        fields = ["id", "reference", "url", "status", "system", "system_name", "model_version", "version_label",
                  "validation_run", "risk_tier", "submitted_by", "submitted_at", "decided_at", "frozen_sha256",
                  "lock_version", "certificate", "created_at"]
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
        fields = ["id", "finding", "check_id", "decision", "justification", "risk", "decided_by", "updated_at"]
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
        fields = ["id", "text", "owner", "due_date", "status", "met_at", "met_note"]
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
    run_status = serializers.CharField(source="run.status", read_only=True,
                                       help_text="queued | running | succeeded | failed | cancelled")
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    diff_url = serializers.SerializerMethodField()

    class Meta:
        model = Rerun
        fields = ["id", "run", "run_status", "requested_by", "created_at", "diff_url"]
        read_only_fields = fields

    def get_diff_url(self, rerun) -> str:
        return reverse("api:submission-rerun-diff", args=[rerun.submission_id, rerun.run_id])


def _review_state(submission) -> dict:
    # Cached on the instance: both fields of one answer come from the same two queries.
    if not hasattr(submission, "_api_review_state"):
        submission._api_review_state = {
            "approvals_needed": sorted(services.approvals_needed(submission)),
            "undecided_critical": list(services.undecided_critical_findings(submission)
                                       .values_list("check_id", flat=True))}
    return submission._api_review_state


class SubmissionStatusSerializer(serializers.ModelSerializer):
    """What CI polls: the status, what is still missing, and the certificate once issued."""

    approvals_needed = serializers.SerializerMethodField(
        help_text='Reviewer roles whose approval is missing ("any" for one reviewer of any role).')
    undecided_critical = serializers.SerializerMethodField(help_text="Critical findings without a decision.")
    certificate = serializers.SerializerMethodField()

    class Meta:
        model = Submission
        fields = ["id", "reference", "status", "lock_version", "submitted_at", "decided_at", "approvals_needed",
                  "undecided_critical", "certificate"]
        read_only_fields = fields

    def get_approvals_needed(self, submission) -> list[str]:
        return _review_state(submission)["approvals_needed"]

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
        fields = [*SubmissionSerializer.Meta.fields, "note", "determination", "previous", "decision_reason",
                  "hashes", "frozen", "carried_points", "reviewers", "findings", "decisions", "comments", "signoffs",
                  "conditions", "dissents", "reruns", "approvals_needed", "undecided_critical"]
        read_only_fields = fields

    def get_hashes(self, submission) -> dict:
        frozen = submission.frozen or {}
        if not frozen:
            return {}
        return {"model_sha256": frozen["model"]["sha256"], "results_sha256": frozen["validation"]["results_sha256"],
                "datasets": [{"role": d["role"], "name": d["name"], "sha256": d["sha256"]}
                             for d in frozen["datasets"]],
                "submission_sha256": submission.frozen_sha256}

    @extend_schema_field(SubmissionFindingSerializer(many=True))
    def get_findings(self, submission):
        return SubmissionFindingSerializer(submission.validation_run.findings.order_by("check_id"), many=True).data

    def get_approvals_needed(self, submission) -> list[str]:
        return _review_state(submission)["approvals_needed"]

    def get_undecided_critical(self, submission) -> list[str]:
        return _review_state(submission)["undecided_critical"]


class CertificateVerificationSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="valid | expired | suspended | revoked | not_yet_valid, from the "
                                             "portal's record; `invalid` for a document that is not exactly what "
                                             "this portal signed and issued.")
    signature_valid = serializers.BooleanField()
    issued_by_this_portal = serializers.BooleanField(
        help_text="The document's payload has the SHA-256 of a certificate this portal issued.")
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
    validation_run = _OrgField(queryset=ValidationRun.objects.all(), permission="validation.view", required=False,
                               allow_null=True, help_text="Default: the newest finished run with the suite the "
                                                          "system's risk tier needs.")
    note = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class SubmissionAssignSerializer(serializers.Serializer):
    reviewer = _OrgField(queryset=User.objects.filter(is_active=True), help_text="User id of an auditor or a "
                                                                                  "compliance officer.")


class FindingDecideSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=DecisionKind.choices)
    justification = serializers.CharField(required=False, allow_blank=True, max_length=10_000, default="",
                                          help_text="Required (10+ characters) for accept_risk and false_positive.")
    risk = _OrgField(queryset=Risk.objects.all(), permission="risk.view", required=False, allow_null=True,
                     help_text="A risk-register entry the accepted risk is recorded under.")


class FindingCommentCreateSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=10_000, trim_whitespace=True)
    parent = serializers.IntegerField(required=False, allow_null=True, help_text="The comment this replies to.")


class SubmissionReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=5000)
    expected_version = serializers.IntegerField(required=False, allow_null=True, min_value=0,
                                                help_text="The lock_version you read; 409 `stale` if it changed.")


class SubmissionResubmitSerializer(serializers.Serializer):
    expected_version = serializers.IntegerField(required=False, allow_null=True, min_value=0)


class SignOffConditionSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=2000)
    owner = serializers.IntegerField(help_text="User id of the person responsible, in your organisation.")
    due_date = serializers.DateField()


class SubmissionSignSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=SignOffDecision.choices)
    reason = serializers.CharField(max_length=5000)
    password = serializers.CharField(write_only=True, trim_whitespace=False, style={"input_type": "password"},
                                     help_text="Your portal password, re-entered: sign-off re-authenticates.")
    conditions = SignOffConditionSerializer(many=True, required=False,
                                            help_text="Only with approve_with_conditions (then at least one).")
    valid_until = serializers.DateField(required=False, allow_null=True,
                                        help_text="Required with conditions; default one year for an approval.")
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


# --- reads ------------------------------------------------------------------------------------------

class SubmissionFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=SubmissionStatus.choices, label="Status")
    system = django_filters.NumberFilter(field_name="system_id", label="AI system")
    model_version = django_filters.NumberFilter(field_name="model_version_id", label="Model version")

    class Meta:
        model = Submission
        fields = ["status", "system", "model_version"]


def _submissions(user):
    return (Submission.objects.restrict(user, "submission.view")
            .select_related("system", "model_version", "submitted_by", "certificate").order_by("-created_at", "-id"))


def _submission(request, pk: int) -> Submission:
    return get_object_or_404(_submissions(request.user), pk=pk)


def _submission_detail(request, pk: int) -> dict:
    submission = get_object_or_404(_submissions(request.user).prefetch_related(
        Prefetch("assignments", queryset=ReviewAssignment.objects.select_related("reviewer", "assigned_by")),
        Prefetch("decisions", queryset=FindingDecision.objects.select_related("finding", "decided_by")),
        Prefetch("comments", queryset=FindingComment.objects.select_related("finding", "author")),
        Prefetch("signoffs", queryset=SignOff.objects.select_related("signer")),
        Prefetch("conditions", queryset=Condition.objects.select_related("owner")),
        Prefetch("dissents", queryset=DissentingOpinion.objects.select_related("author")),
        Prefetch("reruns", queryset=Rerun.objects.select_related("run", "requested_by"))), pk=pk)
    return SubmissionDetailSerializer(submission).data


def _certificate_for(request, pk) -> Certificate:
    return get_object_or_404(Certificate.objects.restrict(request.user, "submission.view"), pk=pk)


def _finding(request, submission: Submission, finding_pk: int) -> Finding:
    return get_object_or_404(Finding.objects.restrict(request.user, "finding.view"), pk=finding_pk,
                             run_id=submission.validation_run_id)


def _status(request, pk: int) -> dict:
    return SubmissionStatusSerializer(_submission(request, pk)).data


class SubmissionListCreateApi(generics.ListAPIView):
    """Submissions of your organisation, newest first. Filters: status, system, model_version."""

    permission_classes = [HasPortalPermission]
    permission_by_method = {"GET": "submission.view", "POST": "submission.create"}
    serializer_class = SubmissionSerializer
    filterset_class = SubmissionFilterSet

    def get_queryset(self):
        return _submissions(self.request.user)

    @extend_schema(summary="List certification submissions")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=SubmissionCreateSerializer, responses={201: SubmissionDetailSerializer, **ERRORS},
                   summary="Submit a model version for certification (ML engineer)",
                   description="Freezes the model, dataset and result hashes and the classification. 400 "
                               "`not_submittable` lists every blocker in `extra.blockers`.")
    def post(self, request):
        serializer = SubmissionCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        submission = services.submission_create(actor=request.user, **serializer.validated_data)
        return Response(_submission_detail(request, submission.pk), status=status.HTTP_201_CREATED)


class SubmissionDetailApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "submission.view"

    @extend_schema(responses={200: SubmissionDetailSerializer, **ERRORS},
                   summary="One submission: frozen hashes, reviewers, findings, decisions, sign-offs, certificate")
    def get(self, request, pk: int):
        return Response(_submission_detail(request, pk))


class SubmissionStatusApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "submission.view"

    @extend_schema(responses={200: SubmissionStatusSerializer, **ERRORS},
                   summary="A submission's status, for CI to poll (and the certificate once issued)")
    def get(self, request, pk: int):
        return Response(_status(request, pk))


# --- writes: one endpoint each ----------------------------------------------------------------------

def _valid(serializer_class, request, **context):
    serializer = serializer_class(data=request.data, context={"request": request, **context})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class SubmissionAssignApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "review.assign"

    @extend_schema(request=SubmissionAssignSerializer, responses={201: SubmissionAssignmentSerializer, **ERRORS},
                   summary="Assign a reviewer (organisation admin or compliance officer)",
                   description="403 `separation_of_duties` for the uploader, the submitter, or a conflicted person.")
    def post(self, request, pk: int):
        submission = _submission(request, pk)
        data = _valid(SubmissionAssignSerializer, request)
        assignment = services.reviewer_assign(actor=request.user, submission=submission, reviewer=data["reviewer"])
        return Response(SubmissionAssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED)


class FindingDecideApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "review.perform"

    @extend_schema(request=FindingDecideSerializer, responses={200: SubmissionDecisionSerializer, **ERRORS},
                   summary="Record (or change) your decision on a finding (assigned reviewer)")
    def post(self, request, pk: int, finding_pk: int):
        submission = _submission(request, pk)
        finding = _finding(request, submission, finding_pk)
        data = _valid(FindingDecideSerializer, request)
        decision = services.finding_decide(actor=request.user, submission=submission, finding=finding, **data)
        return Response(SubmissionDecisionSerializer(decision).data)


class FindingCommentApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "submission.comment"

    @extend_schema(request=FindingCommentCreateSerializer, responses={201: SubmissionCommentSerializer, **ERRORS},
                   summary="Comment on a finding, or reply to a comment (ML team and assigned reviewers)")
    def post(self, request, pk: int, finding_pk: int):
        submission = _submission(request, pk)
        finding = _finding(request, submission, finding_pk)
        data = _valid(FindingCommentCreateSerializer, request)
        parent = None
        if data.get("parent") is not None:
            parent = get_object_or_404(FindingComment.objects.restrict(request.user, "submission.view"),
                                       pk=data["parent"], submission=submission)
        comment = services.finding_comment_add(actor=request.user, submission=submission, finding=finding,
                                               body=data["body"], parent=parent)
        return Response(SubmissionCommentSerializer(comment).data, status=status.HTTP_201_CREATED)


class SubmissionRequestChangesApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "review.perform"

    @extend_schema(request=SubmissionReasonSerializer, responses={200: SubmissionStatusSerializer, **ERRORS},
                   summary="Send the submission back to the ML team (assigned reviewer)")
    def post(self, request, pk: int):
        submission = _submission(request, pk)
        data = _valid(SubmissionReasonSerializer, request)
        services.submission_request_changes(actor=request.user, submission=submission, **data)
        return Response(_status(request, pk))


class SubmissionResubmitApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "submission.create"

    @extend_schema(request=SubmissionResubmitSerializer, responses={200: SubmissionStatusSerializer, **ERRORS},
                   summary="Resubmit after changes were requested, without a new version (ML engineer)",
                   description="A new model version starts a new submission instead (POST /submissions/); "
                               "its open points carry forward.")
    def post(self, request, pk: int):
        submission = _submission(request, pk)
        data = _valid(SubmissionResubmitSerializer, request)
        services.submission_submit(actor=request.user, submission=submission, **data)
        return Response(_status(request, pk))


class SubmissionSignApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "review.perform"

    @extend_schema(request=SubmissionSignSerializer, responses={201: SignOffResultSerializer, **ERRORS},
                   summary="Sign off: approve, approve with conditions, or reject (assigned reviewer)",
                   description="Needs your password and a reason. 409 `critical_undecided` while a critical "
                               "finding has no decision; 409 `second_approver_needed` for a second approval of "
                               "the same role on a high-risk system. The last required approval issues the "
                               "certificate.")
    def post(self, request, pk: int):
        submission = _submission(request, pk)
        data = _valid(SubmissionSignSerializer, request)
        conditions = data.pop("conditions", None)
        signoff = services.submission_sign(actor=request.user, submission=submission, conditions=conditions, **data)
        body = {"signoff": SubmissionSignOffSerializer(signoff).data, "submission": _status(request, pk)}
        return Response(body, status=status.HTTP_201_CREATED)


class SubmissionDissentApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "review.perform"

    @extend_schema(request=SubmissionDissentCreateSerializer, responses={201: SubmissionDissentSerializer, **ERRORS},
                   summary="Put a dissenting opinion on record (a reviewer of this submission)")
    def post(self, request, pk: int):
        submission = _submission(request, pk)
        data = _valid(SubmissionDissentCreateSerializer, request)
        dissent = services.dissent_record(actor=request.user, submission=submission, opinion=data["opinion"])
        return Response(SubmissionDissentSerializer(dissent).data, status=status.HTTP_201_CREATED)


class SubmissionRerunApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "review.perform"

    @extend_schema(request=None, responses={201: SubmissionRerunSerializer, **ERRORS},
                   summary="Re-run the validation from the frozen inputs (assigned auditor)",
                   description="Answers the new run's id (`run`); poll /validations/{run}/ and read `diff_url`.")
    def post(self, request, pk: int):
        rerun = services.submission_rerun(actor=request.user, submission=_submission(request, pk))
        return Response(SubmissionRerunSerializer(rerun).data, status=status.HTTP_201_CREATED)


class SubmissionRerunDiffApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "submission.view"

    @extend_schema(responses={200: RerunDiffSerializer, **ERRORS},
                   summary="Compare a re-run's results with the submission's original run",
                   description="`identical` is true only if every check's status, severity, value, threshold "
                               "and interval match; null until the re-run has succeeded.")
    def get(self, request, pk: int, run_pk: int):
        submission = _submission(request, pk)
        rerun = get_object_or_404(submission.reruns.select_related("run"), run_id=run_pk)
        finished = rerun.run.status == "succeeded"
        diff = results_diff(submission.validation_run, rerun.run) if finished else None
        return Response({"run": rerun.run_id, "run_status": rerun.run.status, "finished": finished,
                         "identical": diff["identical"] if diff else None, "diff": diff})


class CertificateDocumentApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "submission.view"

    @extend_schema(responses={(200, "application/json"): OpenApiTypes.OBJECT, **ERRORS},
                   summary="Download the signed certificate document (JSON, exactly as issued)")
    def get(self, request, pk):
        certificate = _certificate_for(request, pk)
        text = json.dumps(certificate.document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        response = HttpResponse(text.encode("utf-8"), content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="certificate-{certificate.pk}.json"'
        return response


class _CertificateChangeApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "certificate.manage"
    service = None

    def post(self, request, pk):
        certificate = _certificate_for(request, pk)
        data = _valid(CertificateReasonSerializer, request)
        certificate = type(self).service(actor=request.user, certificate=certificate, reason=data["reason"])
        return Response(CertificateRefSerializer(certificate).data)


def _certificate_change_schema(summary: str):
    return extend_schema(request=CertificateReasonSerializer, responses={200: CertificateRefSerializer, **ERRORS},
                         summary=summary)


class CertificateSuspendApi(_CertificateChangeApi):
    service = staticmethod(certificate_services.certificate_suspend)

    @_certificate_change_schema("Suspend a valid certificate (compliance officer or organisation admin)")
    def post(self, request, pk):
        return super().post(request, pk)


class CertificateReinstateApi(_CertificateChangeApi):
    service = staticmethod(certificate_services.certificate_reinstate)

    @_certificate_change_schema("Lift a suspension (compliance officer or organisation admin)")
    def post(self, request, pk):
        return super().post(request, pk)


class CertificateRevokeApi(_CertificateChangeApi):
    service = staticmethod(certificate_services.certificate_revoke)

    @_certificate_change_schema("Revoke a certificate for good (compliance officer or organisation admin)")
    def post(self, request, pk):
        return super().post(request, pk)


class ConditionMetApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "submission.view"

    @extend_schema(request=ConditionMetSerializer, responses={200: SubmissionConditionSerializer, **ERRORS},
                   summary="Record that a condition was met (its owner, or a certificate manager)")
    def post(self, request, pk: int):
        condition = get_object_or_404(Condition.objects.restrict(request.user, "submission.view"), pk=pk)
        data = _valid(ConditionMetSerializer, request)
        condition = certificate_services.condition_mark_met(actor=request.user, condition=condition, note=data["note"])
        return Response(SubmissionConditionSerializer(condition).data)


# --- public: no login, throttled ------------------------------------------------------------------

class _PublicApi(APIView):
    # No authentication at all: nothing here depends on who asks, and without session
    # authentication DRF does not demand a CSRF token from a browser that happens to be logged in.
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [public_views.CertificateVerifyThrottle]


class CertificatePublicStatusApi(_PublicApi):
    @extend_schema(auth=[], responses={200: CertificateVerificationSerializer,
                                       404: OpenApiResponse(description="No certificate with this id was issued."),
                                       429: OpenApiResponse(description="Too many requests from your address.")},
                   summary="Public: a certificate's status by id (no login)")
    def get(self, request, pk):
        return Response(public_views.certificate_check_id(certificate_id=pk).as_dict())


class CertificatePublicVerifyApi(_PublicApi):
    parser_classes = [JSONParser]

    @extend_schema(auth=[], request=OpenApiTypes.OBJECT,
                   responses={200: CertificateVerificationSerializer, 400: ERRORS[400],
                              413: OpenApiResponse(description="Larger than 256 KB."),
                              429: OpenApiResponse(description="Too many requests from your address.")},
                   summary="Public: verify a certificate document (no login)",
                   description="The body is the downloaded certificate file, as is. `status` is `valid` only "
                               "if the signature verifies, the document is exactly one this portal issued, "
                               "and that certificate is currently valid.")
    def post(self, request):
        # The raw bytes, not request.data: duplicate keys and NaN must be refused, not silently
        # resolved by a lenient parser, and the size is checked before the body is read.
        if int(request.META.get("CONTENT_LENGTH") or 0) > public_views.MAX_DOCUMENT_BYTES:
            raise TooLarge(public_views.TOO_LARGE, code="too_large",
                           extra={"limit_bytes": public_views.MAX_DOCUMENT_BYTES})
        return Response(public_views.certificate_check_document(data=request.body).as_dict())

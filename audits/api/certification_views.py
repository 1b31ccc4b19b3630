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
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from audits.api.certification_serializers import (
    CertificateReasonSerializer,
    CertificateRefSerializer,
    CertificateVerificationSerializer,
    ConditionMetSerializer,
    FindingCommentCreateSerializer,
    FindingConditionCreateSerializer,
    FindingDecideManyResultSerializer,
    FindingDecideManySerializer,
    FindingDecideSerializer,
    FindingEscalationDecideSerializer,
    FindingMitigationSerializer,
    RerunDiffSerializer,
    SignOffResultSerializer,
    SubmissionAssignmentSerializer,
    SubmissionAssignSerializer,
    SubmissionCommentSerializer,
    SubmissionConditionSerializer,
    SubmissionCreateSerializer,
    SubmissionDecisionSerializer,
    SubmissionDetailSerializer,
    SubmissionDissentCreateSerializer,
    SubmissionDissentSerializer,
    SubmissionReasonSerializer,
    SubmissionRerunSerializer,
    SubmissionResubmitSerializer,
    SubmissionSerializer,
    SubmissionSignOffSerializer,
    SubmissionSignSerializer,
    SubmissionStatusSerializer,
)
from audits.certification import certificates as certificate_services
from audits.certification import public_views, resolution, services
from audits.certification.choices import SubmissionStatus
from audits.certification.freeze import results_diff
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
from audits.models import Finding
from core.errors import NotFound, TooLarge
from core.filters import IntegerFilter
from core.permissions import HasPortalPermission

# --- reads ------------------------------------------------------------------------------------------


class SubmissionFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=SubmissionStatus.choices, label="Status")
    system = IntegerFilter(field_name="system_id", label="AI system")
    model_version = IntegerFilter(field_name="model_version_id", label="Model version")

    class Meta:
        model = Submission
        fields = ["status", "system", "model_version"]


def _submissions(user):
    return (
        Submission.objects.restrict(user, "submission.view")
        .select_related("system", "model_version", "submitted_by", "certificate")
        .order_by("-created_at", "-id")
    )


def _submission(request, pk: int) -> Submission:
    return get_object_or_404(_submissions(request.user), pk=pk)


def _submission_detail(request, pk: int) -> dict:
    submission = get_object_or_404(
        _submissions(request.user).prefetch_related(
            Prefetch("assignments", queryset=ReviewAssignment.objects.select_related("reviewer", "assigned_by")),
            Prefetch("decisions", queryset=FindingDecision.objects.select_related("finding", "decided_by")),
            Prefetch("comments", queryset=FindingComment.objects.select_related("finding", "author")),
            Prefetch("signoffs", queryset=SignOff.objects.select_related("signer")),
            Prefetch("conditions", queryset=Condition.objects.select_related("owner")),
            Prefetch("dissents", queryset=DissentingOpinion.objects.select_related("author")),
            Prefetch("reruns", queryset=Rerun.objects.select_related("run", "requested_by")),
        ),
        pk=pk,
    )
    return SubmissionDetailSerializer(submission).data


def _certificate_for(request, pk) -> Certificate:
    return get_object_or_404(Certificate.objects.restrict(request.user, "submission.view"), pk=pk)


def _finding(request, submission: Submission, finding_pk: int) -> Finding:
    return get_object_or_404(
        Finding.objects.restrict(request.user, "finding.view"), pk=finding_pk, run_id=submission.validation_run_id
    )


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

    @extend_schema(
        request=SubmissionCreateSerializer,
        responses={201: SubmissionDetailSerializer},
        summary="Submit a model version for certification (ML engineer)",
        description="Freezes the model, dataset and result hashes and the classification. 400 "
        "`not_submittable` lists every blocker in `extra.blockers`.",
    )
    def post(self, request):
        serializer = SubmissionCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        submission = services.submission_create(actor=request.user, **serializer.validated_data)
        return Response(_submission_detail(request, submission.pk), status=status.HTTP_201_CREATED)


class SubmissionDetailApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "submission.view"

    @extend_schema(
        responses={200: SubmissionDetailSerializer},
        summary="One submission: frozen hashes, reviewers, findings, decisions, sign-offs, certificate",
    )
    def get(self, request, pk: int):
        return Response(_submission_detail(request, pk))


class SubmissionStatusApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "submission.view"

    @extend_schema(
        responses={200: SubmissionStatusSerializer},
        summary="A submission's status, for CI to poll (and the certificate once issued)",
    )
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

    @extend_schema(
        request=SubmissionAssignSerializer,
        responses={201: SubmissionAssignmentSerializer},
        summary="Assign a reviewer (organisation admin or compliance officer)",
        description="403 `separation_of_duties` for the uploader, the submitter, or a conflicted person.",
    )
    def post(self, request, pk: int):
        submission = _submission(request, pk)
        data = _valid(SubmissionAssignSerializer, request)
        assignment = services.reviewer_assign(actor=request.user, submission=submission, reviewer=data["reviewer"])
        return Response(SubmissionAssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED)


class FindingDecideApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "review.perform"

    @extend_schema(
        request=FindingDecideSerializer,
        responses={200: SubmissionDecisionSerializer},
        summary="Record (or change) your decision on a finding (assigned reviewer)",
    )
    def post(self, request, pk: int, finding_pk: int):
        submission = _submission(request, pk)
        finding = _finding(request, submission, finding_pk)
        data = _valid(FindingDecideSerializer, request)
        decision = services.finding_decide(actor=request.user, submission=submission, finding=finding, **data)
        return Response(SubmissionDecisionSerializer(decision).data)


class FindingDecideManyApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "review.perform"

    @extend_schema(
        request=FindingDecideManySerializer,
        responses={200: FindingDecideManyResultSerializer},
        summary="Decide several findings with one decision and one justification (assigned reviewer)",
        description=(
            "All or nothing: each finding gets its own decision and audit event, in the submission in review "
            "you are assigned to; when one cannot be decided none is, and the error names it (`extra.finding`). "
            "404 `not_found` names the ids you cannot see; the submitter hears of it in one digest."
        ),
    )
    def post(self, request):
        data = _valid(FindingDecideManySerializer, request)
        ids = list(dict.fromkeys(data.pop("findings")))
        found = {f.pk: f for f in Finding.objects.restrict(request.user, "finding.view").filter(pk__in=ids)}
        missing = [pk for pk in ids if pk not in found]
        if missing:
            raise NotFound(
                f"No finding {', '.join(f'#{pk}' for pk in missing)} that you can see.",
                code="not_found",
                extra={"findings": missing},
            )
        decisions = services.finding_decide_many(actor=request.user, findings=list(found.values()), **data)
        return Response({"decided": SubmissionDecisionSerializer(decisions, many=True).data})


class FindingConditionApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "review.perform"

    @extend_schema(
        request=FindingConditionCreateSerializer,
        responses={201: SubmissionConditionSerializer},
        summary="Make a “require mitigation” finding a condition of the certificate (assigned reviewer)",
        description="The owner must mitigate it by the due date; an overdue condition suspends the certificate. "
        "409 `not_mitigation_required`, `already_condition`, `already_mitigated`.",
    )
    def post(self, request, pk: int, finding_pk: int):
        submission = _submission(request, pk)
        finding = _finding(request, submission, finding_pk)
        data = _valid(FindingConditionCreateSerializer, request)
        condition = resolution.finding_condition_create(
            actor=request.user, submission=submission, finding=finding, **data
        )
        return Response(SubmissionConditionSerializer(condition).data, status=status.HTTP_201_CREATED)


class FindingMitigationApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "review.perform"

    @extend_schema(
        request=FindingMitigationSerializer,
        responses={200: SubmissionDecisionSerializer},
        summary="Record that a later run shows a “require mitigation” finding fixed (assigned reviewer)",
        description="The run must be a later succeeded run of the same AI system in which the check passed "
        "against the same threshold; otherwise 400 naming why (`mitigation_check_not_passed`, ...).",
    )
    def post(self, request, pk: int, finding_pk: int):
        submission = _submission(request, pk)
        finding = _finding(request, submission, finding_pk)
        data = _valid(FindingMitigationSerializer, request)
        decision = resolution.finding_mitigation_record(
            actor=request.user, submission=submission, finding=finding, run=data["run"], note=data["note"]
        )
        return Response(SubmissionDecisionSerializer(decision).data)


class FindingEscalationDecideApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "finding.escalation_decide"

    @extend_schema(
        request=FindingEscalationDecideSerializer,
        responses={200: SubmissionDecisionSerializer},
        summary="Decide an escalated finding (compliance officer or organisation admin, not the one who escalated)",
        description="403 `separation_of_duties` for the person who escalated it, the uploader or submitter, or a "
        "conflicted person; 409 `not_escalated`.",
    )
    def post(self, request, pk: int, finding_pk: int):
        submission = _submission(request, pk)
        finding = _finding(request, submission, finding_pk)
        data = _valid(FindingEscalationDecideSerializer, request)
        decision = resolution.finding_escalation_decide(
            actor=request.user, submission=submission, finding=finding, **data
        )
        return Response(SubmissionDecisionSerializer(decision).data)


class FindingCommentApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "submission.comment"

    @extend_schema(
        request=FindingCommentCreateSerializer,
        responses={201: SubmissionCommentSerializer},
        summary="Comment on a finding, or reply to a comment (ML team and assigned reviewers)",
    )
    def post(self, request, pk: int, finding_pk: int):
        submission = _submission(request, pk)
        finding = _finding(request, submission, finding_pk)
        data = _valid(FindingCommentCreateSerializer, request)
        parent = None
        if data.get("parent") is not None:
            parent = get_object_or_404(
                FindingComment.objects.restrict(request.user, "submission.view"),
                pk=data["parent"],
                submission=submission,
            )
        comment = services.finding_comment_add(
            actor=request.user, submission=submission, finding=finding, body=data["body"], parent=parent
        )
        return Response(SubmissionCommentSerializer(comment).data, status=status.HTTP_201_CREATED)


class SubmissionRequestChangesApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "review.perform"

    @extend_schema(
        request=SubmissionReasonSerializer,
        responses={200: SubmissionStatusSerializer},
        summary="Send the submission back to the ML team (assigned reviewer)",
    )
    def post(self, request, pk: int):
        submission = _submission(request, pk)
        data = _valid(SubmissionReasonSerializer, request)
        services.submission_request_changes(actor=request.user, submission=submission, **data)
        return Response(_status(request, pk))


class SubmissionResubmitApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "submission.create"

    @extend_schema(
        request=SubmissionResubmitSerializer,
        responses={200: SubmissionStatusSerializer},
        summary="Resubmit after changes were requested, without a new version (ML engineer)",
        description="A new model version starts a new submission instead (POST /submissions/); "
        "its open points carry forward.",
    )
    def post(self, request, pk: int):
        submission = _submission(request, pk)
        data = _valid(SubmissionResubmitSerializer, request)
        services.submission_submit(actor=request.user, submission=submission, **data)
        return Response(_status(request, pk))


class SubmissionSignApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "review.perform"

    @extend_schema(
        request=SubmissionSignSerializer,
        responses={201: SignOffResultSerializer},
        summary="Sign off: approve, approve with conditions, or reject (assigned reviewer)",
        description="Needs your password and a reason. An approval is refused with 409 "
        "`findings_unresolved` (`critical_undecided` when a critical finding has no decision) while any "
        "finding is undecided, at require mitigation without a mitigating run or a condition, or "
        "escalated and undecided by the escalation role: `extra.blockers` names each one (finding id, "
        "check_id, title, kind, reason, url). A rejection is refused only while a critical finding has no "
        "decision. 409 `second_approver_needed` for a second approval of the same role on a high-risk "
        "system; 403 `four_eyes` for a signer who approved the classification the "
        "submission rests on (four-eyes, high-risk). The last required approval issues the certificate.",
    )
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

    @extend_schema(
        request=SubmissionDissentCreateSerializer,
        responses={201: SubmissionDissentSerializer},
        summary="Put a dissenting opinion on record (a reviewer of this submission)",
    )
    def post(self, request, pk: int):
        submission = _submission(request, pk)
        data = _valid(SubmissionDissentCreateSerializer, request)
        dissent = services.dissent_record(actor=request.user, submission=submission, opinion=data["opinion"])
        return Response(SubmissionDissentSerializer(dissent).data, status=status.HTTP_201_CREATED)


class SubmissionRerunApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "review.perform"

    @extend_schema(
        request=None,
        responses={201: SubmissionRerunSerializer},
        summary="Re-run the validation from the frozen inputs (assigned auditor)",
        description="Answers the new run's id (`run`); poll /validations/{run}/ and read `diff_url`.",
    )
    def post(self, request, pk: int):
        rerun = services.submission_rerun(actor=request.user, submission=_submission(request, pk))
        return Response(SubmissionRerunSerializer(rerun).data, status=status.HTTP_201_CREATED)


class SubmissionRerunDiffApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "submission.view"

    @extend_schema(
        responses={200: RerunDiffSerializer},
        summary="Compare a re-run's results with the submission's original run",
        description="`identical` is true only if every check's status, severity, value, threshold "
        "and interval match; null until the re-run has succeeded.",
    )
    def get(self, request, pk: int, run_pk: int):
        submission = _submission(request, pk)
        rerun = get_object_or_404(submission.reruns.select_related("run"), run_id=run_pk)
        finished = rerun.run.status == "succeeded"
        diff = results_diff(submission.validation_run, rerun.run) if finished else None
        return Response(
            {
                "run": rerun.run_id,
                "run_status": rerun.run.status,
                "finished": finished,
                "identical": diff["identical"] if diff else None,
                "diff": diff,
            }
        )


class CertificateDocumentApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "submission.view"

    @extend_schema(
        responses={(200, "application/json"): OpenApiTypes.OBJECT},
        summary="Download the signed certificate document (JSON, exactly as issued)",
    )
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
    return extend_schema(
        request=CertificateReasonSerializer, responses={200: CertificateRefSerializer}, summary=summary
    )


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

    @extend_schema(
        request=ConditionMetSerializer,
        responses={200: SubmissionConditionSerializer},
        summary="Record that a condition was met (its owner, or a certificate manager)",
    )
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
    @extend_schema(
        auth=[],
        responses={
            200: CertificateVerificationSerializer,
            404: OpenApiResponse(description="No certificate with this id was issued."),
            429: OpenApiResponse(description="Too many requests from your address."),
        },
        summary="Public: a certificate's status by id (no login)",
    )
    def get(self, request, pk):
        return Response(public_views.certificate_check_id(certificate_id=pk).as_dict())


class CertificatePublicVerifyApi(_PublicApi):
    parser_classes = [JSONParser]
    # The size is checked before the body is read: the input guard leaves larger bodies unread too.
    input_guard_body_limit = public_views.MAX_DOCUMENT_BYTES

    @extend_schema(
        auth=[],
        request=OpenApiTypes.OBJECT,
        responses={
            200: CertificateVerificationSerializer,
            413: OpenApiResponse(description="Larger than 256 KB."),
            429: OpenApiResponse(description="Too many requests from your address."),
        },
        summary="Public: verify a certificate document (no login)",
        description="The body is the downloaded certificate file, as is. `status` is `valid` only "
        "if the signature verifies, the document is exactly one this portal issued, "
        "and that certificate is currently valid.",
    )
    def post(self, request):
        # The raw bytes, not request.data: duplicate keys and NaN must be refused, not silently
        # resolved by a lenient parser, and the size is checked before the body is read.
        if int(request.META.get("CONTENT_LENGTH") or 0) > public_views.MAX_DOCUMENT_BYTES:
            raise TooLarge(
                public_views.TOO_LARGE, code="too_large", extra={"limit_bytes": public_views.MAX_DOCUMENT_BYTES}
            )
        return Response(public_views.certificate_check_document(data=request.body).as_dict())

"""API adapters for classification and obligations; the services decide, errors come out as
{"message", "code", "extra"} through the project's exception handler."""

from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFound, ValidationFailed
from core.models import User
from core.permissions import HasPortalPermission
from governance import answer_document_services, selectors, services
from governance.api.serializers import (
    AnswerDocumentUploadSerializer,
    AnswersSerializer,
    ApproveSerializer,
    DeterminationSerializer,
    DraftSerializer,
    EvidenceCreateSerializer,
    EvidenceSerializer,
    ObligationBulkAssignSerializer,
    ObligationSerializer,
    ObligationSettingsSerializer,
    OverrideSerializer,
    ValidationRunChoiceSerializer,
)
from governance.choices import EvidenceKind
from governance.evidence_sources import validation_run_choices, validation_run_label
from governance.filtersets import ObligationFilterSet
from governance.models import Determination, Obligation
from governance.rules import questionnaire_as_dict
from models_registry.models import AISystem


def _system(request, pk: int, permission: str) -> AISystem:
    return get_object_or_404(AISystem.objects.restrict(request.user, permission), pk=pk)


class QuestionnaireApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "classification.view"

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        summary="The EU AI Act questionnaire",
        description="Sections, questions with options and article paraphrases, visibility "
        "conditions (`visible_if`, in the `condition_language`) and named `flags`.",
    )
    def get(self, request):
        return Response(questionnaire_as_dict())


class DraftApi(APIView):
    permission_classes = [HasPortalPermission]
    permission_by_method = {"GET": "classification.view", "PUT": "classification.draft"}

    @extend_schema(responses={200: DraftSerializer}, summary="A system's saved draft answers")
    def get(self, request, pk: int):
        draft = selectors.classification_draft(system=_system(request, pk, "classification.view"))
        if draft is None:
            raise NotFound("This system has no draft answers.", code="no_draft")
        return Response(DraftSerializer(draft).data)

    @extend_schema(
        request=AnswersSerializer,
        responses={200: DraftSerializer},
        summary="Save draft answers (replaces the previous draft)",
    )
    def put(self, request, pk: int):
        serializer = AnswersSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        draft = services.classification_draft_save(
            system=_system(request, pk, "classification.draft"), actor=request.user, **serializer.validated_data
        )
        return Response(DraftSerializer(draft).data)


class AnswerDocumentApi(APIView):
    """The document behind one answer of the draft (issue #14): the same service as the page."""

    permission_classes = [HasPortalPermission]
    permission = "classification.draft"
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": AnswerDocumentUploadSerializer},
        responses={201: DraftSerializer},
        summary="Attach a document to an answer of the draft",
        description="Multipart with `file`: pdf, png, jpg/jpeg, txt, csv, md, docx or xlsx, 1 byte to 10 MB, "
        "whose content matches its extension. The question must be answered in the draft. Replaces the "
        "answer's previous document; the reference appears in the draft's `answer_notes[question].document`.",
    )
    def post(self, request, pk: int, question: str):
        serializer = AnswerDocumentUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        draft = answer_document_services.answer_document_attach(
            system=_system(request, pk, "classification.draft"),
            question_id=question,
            actor=request.user,
            uploaded_file=serializer.validated_data["file"],
        )
        return Response(DraftSerializer(draft).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: DraftSerializer}, summary="Remove the document from an answer of the draft")
    def delete(self, request, pk: int, question: str):
        draft = answer_document_services.answer_document_detach(
            system=_system(request, pk, "classification.draft"), question_id=question, actor=request.user
        )
        return Response(DraftSerializer(draft).data)


class SubmitApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "classification.draft"

    @extend_schema(
        request=AnswersSerializer,
        responses={201: DeterminationSerializer},
        summary="Submit answers for approval",
        description="Classifies the given answers (or, with an empty body, the saved draft) and "
        "stores the immutable determination. Incomplete or contradictory answers are "
        "accepted but cannot be approved.",
    )
    def post(self, request, pk: int):
        system = _system(request, pk, "classification.draft")
        answers, notes = None, None
        if request.data:
            serializer = AnswersSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            answers, notes = serializer.validated_data["answers"], serializer.validated_data.get("answer_notes")
        determination = services.determination_submit(
            system=system, actor=request.user, answers=answers, answer_notes=notes
        )
        return Response(DeterminationSerializer(determination).data, status=status.HTTP_201_CREATED)


class SystemDeterminationListApi(generics.ListAPIView):
    permission_classes = [HasPortalPermission]
    permission = "classification.view"
    serializer_class = DeterminationSerializer

    @extend_schema(summary="A system's determinations, newest first")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "listing": True}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request object
            return Determination.objects.none()
        system = _system(self.request, self.kwargs["pk"], "classification.view")
        return selectors.determination_list(user=self.request.user, system=system).order_by("-number")


class CurrentDeterminationApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "classification.view"

    @extend_schema(
        responses={200: DeterminationSerializer}, summary="A system's current (approved or needs-review) determination"
    )
    def get(self, request, pk: int):
        determination = selectors.current_determination(system=_system(request, pk, "classification.view"))
        if determination is None:
            raise NotFound("This system has no approved classification.", code="not_classified")
        return Response(DeterminationSerializer(determination).data)


class DeterminationDetailApi(generics.RetrieveAPIView):
    permission_classes = [HasPortalPermission]
    permission = "classification.view"
    serializer_class = DeterminationSerializer

    def get_queryset(self):
        return selectors.determination_list(user=self.request.user)


class DeterminationApproveApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "classification.approve"

    @extend_schema(
        request=ApproveSerializer,
        responses={200: DeterminationSerializer},
        summary="Approve a determination (compliance officer)",
    )
    def post(self, request, pk: int):
        determination = get_object_or_404(Determination.objects.restrict(request.user, self.permission), pk=pk)
        serializer = ApproveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        determination = services.determination_approve(
            determination=determination, actor=request.user, **serializer.validated_data
        )
        return Response(DeterminationSerializer(determination).data)


class DeterminationOverrideApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "classification.approve"

    @extend_schema(
        request=OverrideSerializer,
        responses={200: DeterminationSerializer},
        summary="Approve with a different outcome, with a written justification (compliance officer)",
    )
    def post(self, request, pk: int):
        determination = get_object_or_404(Determination.objects.restrict(request.user, self.permission), pk=pk)
        serializer = OverrideSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        determination = services.determination_override(
            determination=determination, actor=request.user, **serializer.validated_data
        )
        return Response(DeterminationSerializer(determination).data)


class ObligationListApi(generics.ListAPIView):
    """Obligations across the organisation, filterable like the board (system, status, article,
    owner, overdue, applies_before)."""

    permission_classes = [HasPortalPermission]
    permission = "obligation.view"
    serializer_class = ObligationSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ObligationFilterSet

    def get_queryset(self):
        return selectors.obligation_list(user=self.request.user)


class SystemObligationListApi(ObligationListApi):
    """One system's obligations (including those that no longer apply, flagged `applicable: false`)."""

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request object
            return Obligation.objects.none()
        system = _system(self.request, self.kwargs["pk"], "obligation.view")
        return selectors.obligation_list(user=self.request.user, include_not_applicable=True).filter(system=system)


class ObligationDetailApi(generics.RetrieveAPIView):
    permission_classes = [HasPortalPermission]
    permission = "obligation.view"
    serializer_class = ObligationSerializer

    def get_queryset(self):
        return selectors.obligation_list(user=self.request.user, include_not_applicable=True)


def _obligation(request, pk: int) -> Obligation:
    return get_object_or_404(selectors.obligation_list(user=request.user, include_not_applicable=True), pk=pk)


class ObligationEvidenceApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "obligation.view"
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(responses={200: EvidenceSerializer(many=True)}, summary="An obligation's evidence")
    def get(self, request, pk: int):
        evidence = _obligation(request, pk).evidence.select_related("added_by")
        return Response(EvidenceSerializer(evidence, many=True).data)

    @extend_schema(
        request=EvidenceCreateSerializer,
        responses={201: EvidenceSerializer},
        summary="Add evidence to an obligation (its owner or a compliance officer)",
        description="`validation_run`: the id of a succeeded validation run of the obligation's system "
        "(see `validation-runs/`); the evidence is dated by when the run finished. "
        "`model_version`: a version of the same system. `file` (multipart): a document.",
    )
    def post(self, request, pk: int):
        obligation = _obligation(request, pk)
        serializer = EvidenceCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        evidence = _evidence_add(request, obligation, serializer.validated_data)
        return Response(EvidenceSerializer(evidence).data, status=status.HTTP_201_CREATED)


def _evidence_add(request, obligation: Obligation, data: dict):
    common = {"obligation": obligation, "actor": request.user, "title": data["title"]}
    if data["kind"] == EvidenceKind.VALIDATION_RUN:
        return services.evidence_add_validation_run(
            validation_kind=data["validation_kind"], run_id=data["validation_run"], **common
        )
    if data["kind"] == EvidenceKind.MODEL_CARD:
        version = (
            selectors.model_version_choices(user=request.user, system=obligation.system)
            .filter(pk=data["model_version"])
            .first()
        )
        if version is None:
            raise ValidationFailed(
                f"There is no model version #{data['model_version']} of this AI system.", code="unknown_model_version"
            )
        return services.evidence_add_model_card(model_version=version, **common)
    return services.evidence_add_document(uploaded_file=data["file"], **common)


class ObligationValidationRunsApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "obligation.view"

    @extend_schema(
        responses={200: ValidationRunChoiceSerializer(many=True)},
        summary="The validation runs that may be linked to an obligation as evidence",
        description="The succeeded runs of the obligation's system, newest first.",
    )
    def get(self, request, pk: int):
        obligation = _obligation(request, pk)
        runs = validation_run_choices(user=request.user, system_id=obligation.system_id)
        return Response(
            ValidationRunChoiceSerializer([{**run, "label": validation_run_label(run)} for run in runs], many=True).data
        )


class ObligationBulkAssignApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "obligation.manage"

    @extend_schema(
        request=ObligationBulkAssignSerializer,
        responses={200: ObligationSerializer(many=True)},
        summary="Set the owner and/or plan date of many obligations (compliance officer)",
        description="All or none, in one transaction, with one audit event per obligation. An id that is not "
        "an obligation of your organisation is refused with 404 naming it; one that no longer applies with 409.",
    )
    def post(self, request):
        serializer = ObligationBulkAssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if data.get("owner") is not None:
            owner = User.objects.filter(pk=data["owner"], organisation_id=request.user.organisation_id).first()
            if owner is None:
                raise ValidationFailed(
                    f"There is no user #{data['owner']} in your organisation.",
                    code="invalid_owner",
                    extra={"field": "owner"},
                )
            data["owner"] = owner
        rows = services.obligation_bulk_assign(actor=request.user, obligation_ids=data.pop("obligations"), **data)
        changed = selectors.obligation_list(user=request.user).filter(pk__in=[o.pk for o in rows])
        return Response(ObligationSerializer(changed, many=True).data)


class ObligationSettingsApi(APIView):
    """Read (anyone who sees obligations) and change (compliance officer) the plan lead time."""

    permission_classes = [HasPortalPermission]
    permission_by_method = {"GET": "obligation.view", "PUT": "obligation.manage"}

    @extend_schema(responses={200: ObligationSettingsSerializer}, summary="The organisation's obligation settings")
    def get(self, request):
        days = selectors.obligation_plan_lead_days(request.user.organisation_id)
        return Response({"plan_lead_days": days})

    @extend_schema(
        request=ObligationSettingsSerializer,
        responses={200: ObligationSettingsSerializer},
        summary="Change the plan lead time (compliance officer)",
        description="Used for obligations derived from now on; existing plan dates are left as they are. "
        "Recorded in the audit trail.",
    )
    def put(self, request):
        serializer = ObligationSettingsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = services.obligation_settings_update(
            actor=request.user, plan_lead_days=serializer.validated_data["plan_lead_days"]
        )
        return Response({"plan_lead_days": row.plan_lead_days})

from rest_framework import serializers

from governance.choices import EvidenceKind, OutcomeChoice
from governance.models import ClassificationDraft, Determination, Evidence, Obligation
from governance.presentation import needs_unsure_review, open_points, outcome_headline, review_headline
from governance.rules import EVIDENCE_KINDS, RULES_VERSION
from governance.selectors import application_date_map, four_eyes_required, rules_reassessment
from models_registry.choices import RiskTier


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField(source="display_name")


class AnswersSerializer(serializers.Serializer):
    answers = serializers.DictField(
        help_text='{question_id: answer}: "yes"/"no"/"unsure", an option '
        "value, or a list of option values for multi-select questions."
    )
    answer_notes = serializers.DictField(
        required=False,
        help_text='{question_id: {"reason": text (at most 2000 characters), "link": https URL (at most 500)}}: '
        "why each answer was given and what backs it, both optional. Notes of questions not answered are "
        "dropped. Omitted on a draft save: the draft's notes of the answers still given are kept. A "
        '"document" key is ignored: documents are attached with the answer\'s document endpoint.',
    )


class AnswerDocumentUploadSerializer(serializers.Serializer):
    """Shape only; the service checks the size, type and content."""

    file = serializers.FileField(allow_empty_file=True, help_text="The document (multipart).")


ANSWER_NOTES_HELP = (
    '{question_id: {"reason", "link", "document"?}}. "document" (read-only, set by the answer\'s document '
    'endpoint): {"sha256", "name", "size", "content_type", "added_by" (user id), "added_at"}.'
)


class DraftSerializer(serializers.ModelSerializer):
    updated_by = UserRefSerializer(read_only=True)
    answer_notes = serializers.JSONField(read_only=True, help_text=ANSWER_NOTES_HELP)
    system = serializers.IntegerField(source="system_id", read_only=True)

    class Meta:
        model = ClassificationDraft
        fields = ["system", "answers", "answer_notes", "updated_by", "updated_at"]
        read_only_fields = fields


class DeterminationSerializer(serializers.ModelSerializer):
    system = serializers.IntegerField(source="system_id", read_only=True)
    answer_notes = serializers.JSONField(read_only=True, help_text=ANSWER_NOTES_HELP)
    answered_by = UserRefSerializer(read_only=True)
    submitted_by = UserRefSerializer(read_only=True)
    approved_by = UserRefSerializer(read_only=True, allow_null=True)
    headline = serializers.SerializerMethodField()
    effective_outcome = serializers.CharField(read_only=True)
    effective_risk_tier = serializers.CharField(read_only=True)
    blockers = serializers.ListField(child=serializers.CharField(), read_only=True)
    # Plain strings ("" when not overridden): the choices are those of outcome and risk_tier.
    override_outcome = serializers.CharField(read_only=True)
    override_risk_tier = serializers.CharField(read_only=True)
    four_eyes_required = serializers.SerializerMethodField(
        help_text="Approval must come from someone who did not answer or submit it (the organisation's "
        "four-eyes rule for high-risk and prohibited results)."
    )
    provisional = serializers.SerializerMethodField(
        help_text='Needs review: the result relies on an "unsure" answer read the stricter way that is neither '
        "resolved (a new submission with a definite answer) nor justified by the approver. The result is what "
        "to prepare for, not a verdict."
    )
    open_points = serializers.SerializerMethodField(
        help_text='One per "unsure" answer relied on: {"id", "question", "question_full", "assumed" (the '
        'stricter reading), "effects" (what that reading changed), "other_reading" (what the other answer '
        'would give; the legal bases only the stricter reading cites), "justification" (the approver\'s, or "")}.'
    )
    rules_changes = serializers.SerializerMethodField(
        help_text="For a determination made under an older rules version: what the current rules would change "
        '{"from_version", "to_version", "affected", "changes" (the differences in words), "releases" (the '
        "release notes since)}; null under the current version. Nothing stored is rewritten."
    )

    class Meta:
        model = Determination
        fields = [
            "id",
            "system",
            "number",
            "status",
            "outcome",
            "risk_tier",
            "headline",
            "effective_outcome",
            "effective_risk_tier",
            "is_complete",
            "has_contradictions",
            "blockers",
            "rules_version",
            "answers",
            "result",
            "answered_by",
            "answer_authors",
            "answer_notes",
            "submitted_by",
            "four_eyes_required",
            "provisional",
            "open_points",
            "unsure_justifications",
            "created_at",
            "approved_by",
            "approved_at",
            "approval_note",
            "override_outcome",
            "override_risk_tier",
            "override_justification",
            "review_reason",
            "review_requested_at",
            "superseded_at",
            "rules_changes",
        ]
        read_only_fields = fields

    @property
    def _listing(self) -> bool:
        """Serialising a list: skip the per-row work a list needs no more than once."""
        return bool(self.context.get("listing"))

    def _dates(self):
        """The application dates, read once per response (a list re-assesses each old row)."""
        if "application_dates" not in self.context:
            self.context["application_dates"] = application_date_map()
        return self.context["application_dates"]

    def get_rules_changes(self, obj) -> dict | None:
        if obj.rules_version == RULES_VERSION:
            return None
        reassessment = rules_reassessment(determination=obj, dates=self._dates())
        if reassessment is None:
            return None
        return {
            "from_version": reassessment.from_version,
            "to_version": reassessment.to_version,
            "affected": reassessment.affected,
            "changes": reassessment.lines(),
            "releases": [{"version": r.version, "changes": list(r.changes)} for r in reassessment.releases],
        }

    def get_headline(self, obj) -> str:
        headline = outcome_headline(obj.effective_outcome, obj.result)
        return review_headline(headline, obj.result) if self.get_provisional(obj) else headline

    def get_provisional(self, obj) -> bool:
        return needs_unsure_review(obj.result, obj.unsure_justifications)

    def get_open_points(self, obj) -> list[dict]:
        # "other_reading" re-runs the rules once per unsure answer: on one determination, not per row
        # of a list (up to 50 rows x ~50 unsure answers), so a list leaves it empty.
        return open_points(obj.result, obj.unsure_justifications, None if self._listing else obj.answers)

    def get_four_eyes_required(self, obj) -> bool:
        return four_eyes_required(determination=obj)


UNSURE_JUSTIFICATIONS_HELP = (
    '{question id: text}: for each "unsure" answer the result relies on (its `open_points`), why the '
    "stricter reading may stand. Required for every open point; recorded with the approval and in the audit trail."
)


def _unsure_justifications_field():
    return serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=5000),
        required=False,
        default=dict,
        help_text=UNSURE_JUSTIFICATIONS_HELP,
    )


class ApproveSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    unsure_justifications = _unsure_justifications_field()


class OverrideSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=OutcomeChoice.choices)
    risk_tier = serializers.ChoiceField(choices=RiskTier.choices, required=False, allow_blank=True, default="")
    justification = serializers.CharField(
        allow_blank=True, max_length=5000, help_text="Required: why the outcome differs from the questionnaire's."
    )
    unsure_justifications = _unsure_justifications_field()


class EvidenceSerializer(serializers.ModelSerializer):
    added_by = UserRefSerializer(read_only=True)
    validation_run = serializers.IntegerField(source="validation_run_id", read_only=True, allow_null=True)

    class Meta:
        model = Evidence
        fields = [
            "id",
            "kind",
            "title",
            "sha256",
            "size",
            "original_name",
            "model_version",
            "validation_kind",
            "validation_ref",
            "validation_run",
            "validation_summary",
            "dated_at",
            "added_by",
            "created_at",
        ]
        read_only_fields = fields


class EvidenceCreateSerializer(serializers.Serializer):
    """Shape only; the services check the file, the model version and the run."""

    kind = serializers.ChoiceField(choices=EvidenceKind.choices)
    title = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    file = serializers.FileField(required=False, help_text="kind=document (multipart).")
    model_version = serializers.IntegerField(required=False, help_text="kind=model_card: a version of this system.")
    validation_kind = serializers.ChoiceField(
        required=False,
        choices=[k for k in EVIDENCE_KINDS if k.startswith("validation_run:")],
        help_text='kind=validation_run: the check family, e.g. "validation_run:fairness".',
    )
    validation_run = serializers.IntegerField(
        required=False, help_text="kind=validation_run: the id of a succeeded validation run of this system."
    )

    def validate(self, data):
        needed = {
            EvidenceKind.DOCUMENT: ("file",),
            EvidenceKind.MODEL_CARD: ("model_version",),
            EvidenceKind.VALIDATION_RUN: ("validation_kind", "validation_run"),
        }[data["kind"]]
        missing = [name for name in needed if data.get(name) in (None, "")]
        if missing:
            raise serializers.ValidationError({name: f"Required for {data['kind']} evidence." for name in missing})
        return data


class ValidationRunChoiceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    label = serializers.CharField()
    suite = serializers.CharField()
    model_version = serializers.CharField()
    finished_at = serializers.DateTimeField()
    counts = serializers.DictField(child=serializers.IntegerField())
    families = serializers.DictField(child=serializers.DictField(child=serializers.IntegerField()))


class ObligationSerializer(serializers.ModelSerializer):
    system = serializers.IntegerField(source="system_id", read_only=True)
    system_name = serializers.CharField(source="system.name", read_only=True)
    determination = serializers.IntegerField(source="determination_id", read_only=True)
    owner = UserRefSerializer(read_only=True, allow_null=True)
    is_overdue = serializers.BooleanField(read_only=True)
    evidence_count = serializers.IntegerField(read_only=True)
    newest_evidence = serializers.DateTimeField(read_only=True, allow_null=True)
    plan_date = serializers.DateField(
        source="due_date", read_only=True, allow_null=True, help_text="The organisation's plan date (= due_date)."
    )

    class Meta:
        model = Obligation
        fields = [
            "id",
            "system",
            "system_name",
            "determination",
            "code",
            "role",
            "article",
            "title",
            "description",
            "notes",
            "evidence_hints",
            "applies_from_key",
            "applies_from",
            "owner",
            "due_date",
            "plan_date",
            "status",
            "is_overdue",
            "evidence_max_age_days",
            "evidence_count",
            "newest_evidence",
            "applicable",
            "not_applicable_since",
        ]
        read_only_fields = fields


class ObligationBulkAssignSerializer(serializers.Serializer):
    """Shape only. A field left out is left as it is; `owner: null` removes the owner and
    `plan_date: null` clears the plan date."""

    obligations = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, help_text="The ids of the obligations to change."
    )
    owner = serializers.IntegerField(
        required=False, allow_null=True, help_text="The user id of the new owner, a member of your organisation."
    )
    plan_date = serializers.DateField(required=False, allow_null=True, help_text="The organisation's plan date.")

    def validate(self, data):
        if "owner" not in data and "plan_date" not in data:
            raise serializers.ValidationError("Give an owner or a plan date (or both) to set.")
        return data


class ObligationSettingsSerializer(serializers.Serializer):
    """The organisation's obligation settings: the plan lead time that defaults the plan date of
    obligations derived from then on (applies-from date plus this many days)."""

    plan_lead_days = serializers.IntegerField(
        min_value=0, max_value=3650, help_text="Days after the legal applies-from date the plan date defaults to."
    )

from rest_framework import serializers

from audits.choices import Suite
from audits.models import CheckResultRecord, Finding, ValidationRun
from models_registry.choices import Task
from models_registry.models import AISystem, Dataset, ModelVersion


class _OrgObjectField(serializers.PrimaryKeyRelatedField):
    """A primary key of an object of the caller's organisation; others read as 'does not exist'."""

    def get_queryset(self):
        return self.queryset.restrict(self.context["request"].user, "system.view")


class ValidationStartSerializer(serializers.Serializer):
    model_version = _OrgObjectField(
        queryset=ModelVersion.objects.all(),
        required=False,
        allow_null=True,
        help_text="Omit for a run on predictions held by the test dataset.",
    )
    system = _OrgObjectField(queryset=AISystem.objects.all(), required=False, allow_null=True)
    test_dataset = _OrgObjectField(queryset=Dataset.objects.all())
    train_dataset = _OrgObjectField(queryset=Dataset.objects.all(), required=False, allow_null=True)
    suite = serializers.ChoiceField(
        choices=Suite.choices,
        required=False,
        allow_null=True,
        help_text="Default: full for high-risk systems, standard otherwise.",
    )
    policy_overrides = serializers.DictField(required=False, help_text='e.g. {"fairness.dp_ratio_min": 0.8}')
    seed = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1, default=0)
    task = serializers.ChoiceField(
        choices=Task.choices,
        required=False,
        allow_null=True,
        help_text="Predictions-only runs; otherwise the model version's task.",
    )
    feature_columns = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        max_length=5000,
        help_text="Default: the model card's feature columns, else the names the model declares.",
    )
    target_column = serializers.CharField(
        required=False, max_length=200, help_text="Default: the test dataset's target column."
    )
    sensitive_columns = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        max_length=200,
        help_text="Default: the test dataset's sensitive columns.",
    )


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class CheckResultSerializer(serializers.ModelSerializer):
    class Meta:
        model = CheckResultRecord
        fields = [
            "check_id",
            "family",
            "name",
            "status",
            "severity",
            "value",
            "threshold",
            "ci",
            "summary",
            "details",
            "error",
            "duration_s",
        ]
        read_only_fields = fields


class CheckResultWithChartsSerializer(CheckResultSerializer):
    class Meta(CheckResultSerializer.Meta):
        fields = [*CheckResultSerializer.Meta.fields, "charts"]
        read_only_fields = fields


class FindingSerializer(serializers.ModelSerializer):
    system_name = serializers.CharField(source="system.name", read_only=True)
    version_label = serializers.CharField(source="model_version.version_label", read_only=True, default=None)
    # Plain text in the schema, like the run's status.
    status = serializers.CharField(
        read_only=True,
        help_text="open, or a reviewer's decision (accepted, mitigation_required, false_positive, escalated), or "
        "superseded: closed undecided because a newer run of the same version and suite succeeded (superseded_by).",
    )

    class Meta:
        model = Finding
        fields = [
            "id",
            "run",
            "system",
            "system_name",
            "model_version",
            "version_label",
            "check_id",
            "category",
            "check_status",
            "severity",
            "title",
            "description",
            "affected",
            "evidence",
            "recommendation",
            "eu_ai_act_article",
            "status",
            "superseded_by",
            "superseded_at",
            "created_at",
        ]
        read_only_fields = fields


class ValidationRunSerializer(serializers.ModelSerializer):
    # Plain text in the schema: a "status" enum here would collide with the governance app's.
    status = serializers.CharField(read_only=True, help_text="queued | running | succeeded | failed | cancelled")
    progress = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    waiting_for_broker = serializers.BooleanField(
        read_only=True,
        help_text="Queued, but the job broker has not taken it yet (it was unreachable); the portal keeps trying.",
    )

    class Meta:
        model = ValidationRun
        fields = [
            "id",
            "url",
            "status",
            "cancel_requested",
            "system",
            "model_version",
            "test_dataset",
            "train_dataset",
            "task",
            "suite",
            "policy_overrides",
            "policy_version",
            "seed",
            "progress",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "heartbeat_at",
            "duration_s",
            "peak_memory_mb",
            "error_message",
            "waiting_for_broker",
            "attempts",
        ]
        read_only_fields = fields

    def get_progress(self, run) -> dict:
        return {
            "percent": run.progress_percent,
            "done": run.checks_done,
            "total": run.checks_total,
            "current_check": run.current_check,
            "stage": run.stage,
        }

    def get_url(self, run) -> str:
        from django.urls import reverse

        return reverse("audits:validation_detail", args=[run.pk])


class ValidationRunDetailSerializer(ValidationRunSerializer):
    """One run with everything CI needs to decide: counts, findings, results."""

    summary = serializers.SerializerMethodField()
    results = serializers.SerializerMethodField()
    findings = FindingSerializer(many=True, read_only=True)

    class Meta(ValidationRunSerializer.Meta):
        fields = [
            *ValidationRunSerializer.Meta.fields,
            "error_detail",
            "policy",
            "reproducibility",
            "summary",
            "findings",
            "results",
        ]
        read_only_fields = fields

    def get_summary(self, run) -> dict:
        checks: dict[str, int] = {}
        findings: dict[str, int] = {}
        for record in run.results.all():
            checks[record.status] = checks.get(record.status, 0) + 1
        superseded = 0
        for finding in run.findings.all():
            if finding.status == "superseded":  # a newer run of the same version and suite replaced it
                superseded += 1
            else:
                findings[finding.severity] = findings.get(finding.severity, 0) + 1
        return {
            "finished": not run.is_active,
            "checks": checks,
            "findings": findings,
            "critical_findings": findings.get("critical", 0),
            "superseded_findings": superseded,
        }

    def get_results(self, run) -> list[dict]:
        with_charts = self.context.get("with_charts", False)
        serializer = CheckResultWithChartsSerializer if with_charts else CheckResultSerializer
        return serializer(run.results.all(), many=True).data

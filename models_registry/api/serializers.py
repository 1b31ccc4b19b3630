from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from models_registry.choices import AffectedGroup, DatasetRole, Framework, LifecycleStage, OperatorRole, Sector, Task
from models_registry.models import AISystem, Dataset, ModelVersion


class AISystemSerializer(serializers.ModelSerializer):
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")

    class Meta:
        model = AISystem
        fields = [
            "id",
            "name",
            "purpose",
            "intended_use",
            "deployment_context",
            "affected_persons",
            "sector",
            "affected_groups",
            "lifecycle_stage",
            "operator_role",
            "owner_team",
            "business_owner",
            "processes_personal_data",
            "processes_special_categories",
            "third_party_vendor",
            "tags",
            "risk_tier",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


@extend_schema_field({"type": "array", "items": {"type": "string", "enum": AffectedGroup.values}})
class AffectedGroupsField(serializers.JSONField):
    """Any JSON passes here: the service checks it, so an unknown group (or a value that is not a
    list) is refused with `invalid_affected_groups` instead of the serializer's generic `invalid`."""


class SectorField(serializers.ChoiceField):
    """Documented as the sector choices (the same schema enum as the read side), but checked by
    the service: an unknown sector is refused with `invalid_sector`, not the generic `invalid`.
    Blank means "not stated"."""

    def __init__(self, **kwargs):
        super().__init__(choices=Sector.choices, **kwargs)

    def to_internal_value(self, data):
        return data


class AISystemWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    purpose = serializers.CharField()
    intended_use = serializers.CharField(required=False, allow_blank=True, default="")
    deployment_context = serializers.CharField(required=False, allow_blank=True, default="")
    affected_persons = serializers.CharField(required=False, allow_blank=True, default="")
    sector = SectorField(required=False, allow_blank=True, default="")
    affected_groups = AffectedGroupsField(required=False, default=list)
    lifecycle_stage = serializers.ChoiceField(choices=LifecycleStage.choices, default=LifecycleStage.DEVELOPMENT)
    operator_role = serializers.ChoiceField(choices=OperatorRole.choices, default=OperatorRole.PROVIDER)
    owner_team = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    business_owner = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    processes_personal_data = serializers.BooleanField(required=False, default=False)
    processes_special_categories = serializers.BooleanField(required=False, default=False)
    third_party_vendor = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False, default=list)


class AISystemUpdateSerializer(AISystemWriteSerializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class ArtifactFields(serializers.Serializer):
    file_name = serializers.CharField(source="artifact.original_name")
    size = serializers.IntegerField(source="artifact.size")
    sha256 = serializers.CharField(source="artifact.sha256")
    detected_format = serializers.CharField(source="artifact.detected_format")


class ModelVersionSerializer(serializers.ModelSerializer):
    system = serializers.PrimaryKeyRelatedField(read_only=True)
    file = ArtifactFields(source="*")
    uploaded_by = serializers.CharField(source="uploaded_by.username")

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "system",
            "version_label",
            "framework",
            "task",
            "feature_columns",
            "intended_use",
            "limitations",
            "training_data_description",
            "claimed_metrics",
            "substantial_modification",
            "file",
            "scan_verdict",
            "scan_report",
            "uploaded_by",
            "created_at",
        ]
        read_only_fields = fields


class ModelVersionUploadSerializer(serializers.Serializer):
    version_label = serializers.CharField(max_length=60)
    file = serializers.FileField()
    framework = serializers.ChoiceField(choices=Framework.choices)
    task = serializers.ChoiceField(choices=Task.choices)
    feature_columns = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    intended_use = serializers.CharField(required=False, allow_blank=True, default="")
    limitations = serializers.CharField(required=False, allow_blank=True, default="")
    training_data_description = serializers.CharField(required=False, allow_blank=True, default="")
    claimed_metrics = serializers.JSONField(required=False, default=dict)
    substantial_modification = serializers.BooleanField(required=False, default=False)


class DatasetSerializer(serializers.ModelSerializer):
    system = serializers.PrimaryKeyRelatedField(read_only=True)
    file = ArtifactFields(source="*")
    uploaded_by = serializers.CharField(source="uploaded_by.username")

    class Meta:
        model = Dataset
        fields = [
            "id",
            "system",
            "name",
            "version",
            "role",
            "file_format",
            "read_options",
            "target_column",
            "prediction_column",
            "score_column",
            "sensitive_columns",
            "row_count",
            "column_count",
            "schema",
            "pii_columns",
            "profile_status",
            "profile_error",
            "file",
            "uploaded_by",
            "created_at",
        ]
        read_only_fields = fields


class DatasetUploadSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    role = serializers.ChoiceField(choices=DatasetRole.choices)
    file = serializers.FileField()
    target_column = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    prediction_column = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    score_column = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    sensitive_columns = serializers.ListField(child=serializers.CharField(), required=False, default=list)

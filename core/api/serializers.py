from rest_framework import serializers

from core.choices import Role
from core.models import User


class OrganisationRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()


class UserSerializer(serializers.ModelSerializer):
    organisation = OrganisationRefSerializer(read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "email",
            "first_name",
            "last_name",
            "job_title",
            "role",
            "is_active",
            "last_login",
            "organisation",
        ]
        read_only_fields = fields


class MeSerializer(UserSerializer):
    permissions = serializers.SerializerMethodField()

    class Meta(UserSerializer.Meta):
        fields = UserSerializer.Meta.fields + ["permissions"]
        read_only_fields = fields

    def get_permissions(self, user) -> list[str]:
        from core.permissions import permissions_of

        return sorted(permissions_of(user))


class UserCreateSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    email = serializers.EmailField()
    first_name = serializers.CharField(max_length=150, required=False, default="")
    last_name = serializers.CharField(max_length=150, required=False, default="")
    job_title = serializers.CharField(max_length=120, required=False, default="")
    role = serializers.ChoiceField(choices=Role.choices)


class UserRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)
    reason = serializers.CharField(max_length=500, required=False, default="")


class ErrorSerializer(serializers.Serializer):
    """Every error answer of the API (core.api.errors, core.input_guard)."""

    message = serializers.CharField(help_text="What went wrong, in words a person can act on.")
    code = serializers.CharField(
        help_text="A stable machine-readable code, e.g. `invalid`, `not_allowed`, `invalid_characters`, `stale`."
    )
    extra = serializers.DictField(
        help_text="Details: `fields` for invalid input, `field` for a refused character, "
        "`blockers`, `current_version`..."
    )

    class Meta:
        ref_name = "Error"


class QueueItemSerializer(serializers.Serializer):
    label = serializers.CharField()
    url = serializers.CharField(help_text="The portal page where the work is done (a path).")
    detail = serializers.CharField()
    tone = serializers.CharField(help_text='"bad" (overdue, failed), "warn" (due soon) or "".')


class QueueSerializer(serializers.Serializer):
    """One work queue of the signed-in person (the home page's "Waiting for you")."""

    key = serializers.CharField()
    title = serializers.CharField()
    total = serializers.IntegerField()
    items = QueueItemSerializer(many=True, help_text="The first few, most urgent first.")
    more_url = serializers.CharField()


class OrganisationSettingsSerializer(serializers.Serializer):
    four_eyes_high_risk = serializers.BooleanField(
        help_text="The approver of a high-risk or prohibited classification must not have answered or submitted "
        "it, and a certificate's co-signer must not have approved the classification it rests on."
    )

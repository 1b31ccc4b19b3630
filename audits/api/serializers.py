from rest_framework import serializers

from core.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "chain",
            "seq",
            "timestamp",
            "actor_id",
            "actor_username",
            "actor_role",
            "verb",
            "object_type",
            "object_id",
            "object_repr",
            "before",
            "after",
            "reason",
            "request_id",
            "ip",
            "origin",
            "prev_hash",
            "hash",
        ]
        read_only_fields = fields

from audits.models import AuditEvent
from core.permissions import has_permission


def audit_event_list(*, user, object_type: str = "", object_id: str = ""):
    """The events of the user's organisation, or none if their role may not read the trail."""
    if not has_permission(user, "audit.view"):
        return AuditEvent.objects.none()
    events = AuditEvent.objects.filter(organisation_id=user.organisation_id)
    if object_type:
        events = events.filter(object_type=object_type, object_id=str(object_id))
    return events


def audit_verb_choices(*, user) -> list[str]:
    return list(audit_event_list(user=user).order_by("verb").values_list("verb", flat=True).distinct())


def audit_object_type_choices(*, user) -> list[str]:
    return list(audit_event_list(user=user).exclude(object_type="").order_by("object_type")
                .values_list("object_type", flat=True).distinct())

"""Permission-filtered reads for the inventory."""

from __future__ import annotations

from django.db.models import Count, Max

from models_registry.models import AISystem, Dataset, ModelVersion


def system_list(*, user):
    return (
        AISystem.objects.restrict(user, "system.view")
        .annotate(
            version_count=Count("versions", distinct=True),
            dataset_count=Count("datasets", distinct=True),
            last_version_at=Max("versions__created_at"),
        )
        .prefetch_related("tags")
        .order_by("name")
    )  # Meta.ordering is ignored with GROUP BY


def system_get(*, user, pk) -> AISystem:
    from core.permissions import get_for_user

    return get_for_user(AISystem.objects.prefetch_related("tags"), user, "system.view", pk=pk)


def version_list(*, user, system: AISystem | None = None):
    versions = ModelVersion.objects.restrict(user, "system.view").select_related("system", "artifact", "uploaded_by")
    return versions.filter(system=system) if system is not None else versions


def dataset_list(*, user, system: AISystem | None = None):
    datasets = Dataset.objects.restrict(user, "system.view").select_related("system", "artifact", "uploaded_by")
    return datasets.filter(system=system) if system is not None else datasets


def version_diff(*, older: ModelVersion, newer: ModelVersion) -> list[dict]:
    """Model-card fields side by side, marking the ones that changed."""
    rows = []
    for field in ModelVersion.MODEL_CARD_FIELDS + ("artifact",):
        old = older.artifact.sha256 if field == "artifact" else getattr(older, field)
        new = newer.artifact.sha256 if field == "artifact" else getattr(newer, field)
        rows.append(
            {
                "field": "file sha256" if field == "artifact" else field.replace("_", " "),
                "old": old,
                "new": new,
                "changed": old != new,
            }
        )
    return rows


def owner_choices(*, user) -> list[str]:
    values = (
        AISystem.objects.restrict(user, "system.view")
        .exclude(owner_team="")
        .order_by("owner_team")
        .values_list("owner_team", flat=True)
        .distinct()
    )
    return list(values)


def registry_home_stats(*, user) -> dict:
    systems = AISystem.objects.restrict(user, "system.view")
    by_stage = dict(systems.values_list("lifecycle_stage").annotate(n=Count("id")))
    by_tier = dict(systems.values_list("risk_tier").annotate(n=Count("id")))
    return {
        "systems": systems.count(),
        "systems_by_stage": by_stage,
        "systems_by_tier": by_tier,
        "versions": ModelVersion.objects.restrict(user, "system.view").count(),
        "datasets": Dataset.objects.restrict(user, "system.view").count(),
        "my_versions": ModelVersion.objects.restrict(user, "system.view").filter(uploaded_by=user).count(),
    }

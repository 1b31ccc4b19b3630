"""Receivers for the registry's signals: a change that may alter the classification marks the
approved determination as needing review. The decision lives in the service; this only adapts."""

from __future__ import annotations

from governance import services


def on_system_changed(sender, system, changed_fields, actor=None, **kwargs) -> None:
    reason = services.needs_review_reason_for_change(set(changed_fields or ()))
    if reason:
        services.determination_mark_needs_review(system=system, reason=reason, actor=actor)


def on_version_registered(sender, version, actor=None, **kwargs) -> None:
    if version.substantial_modification:
        services.determination_mark_needs_review(
            system=version.system,
            actor=actor,
            reason=f"Model version {version.version_label} is a substantial modification (Art. 3(23)).",
        )


def connect() -> None:
    from models_registry.signals import system_changed, version_registered

    system_changed.connect(on_system_changed, dispatch_uid="governance.on_system_changed")
    version_registered.connect(on_version_registered, dispatch_uid="governance.on_version_registered")

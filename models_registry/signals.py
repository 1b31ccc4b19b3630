"""Signals other apps listen to (the registry must not import them: dependency direction).

- system_changed(sender=AISystem, system, changed_fields: set[str], actor): an AI system's
  registered facts changed (e.g. intended_use, operator_role, deployment_context).
- version_registered(sender=ModelVersion, version, actor): a new model version was registered.
Both are sent inside the service's transaction, after the audit event.
"""

from django.dispatch import Signal

system_changed = Signal()
version_registered = Signal()

"""The validation engine's code path, shared by the Celery worker and the benchmark.

Django-free. `execute_in_child(spec, ...)` runs one validation in a separate Python process
(`python -m audits.engine.child`): the uploaded model is loaded only there, so a crash, a
segmentation fault or a memory blow-up of the model fails that run with a reason and leaves the
worker alive. Time and memory limits are enforced by the parent.
"""

from audits.engine.runner import EngineOutcome, execute_in_child
from audits.engine.spec import DataSpec, ModelSpec, RunSpec

__all__ = ["DataSpec", "EngineOutcome", "ModelSpec", "RunSpec", "execute_in_child"]

"""Meta-test: every public service that changes state reaches the audit-trail writer.

It follows each service's calls inside its own module (private helpers included), so a new service
that forgets `audit_record` fails here even before anyone writes a behaviour test for it.
Read-only helpers that live in services modules are listed explicitly."""

import ast
import importlib
import inspect
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("core", "models_registry", "governance", "audits")
# The trail's own writer is what the others must reach, not a service of its own.
NOT_SERVICES = {"core.trail"}


def _is_service_module(path: Path, tree: ast.Module) -> bool:
    """A services module by name (`services.py`, `*_services.py`), or by shape: a public function
    taking a keyword-only `actor`, the house signature of a service."""
    if path.name == "services.py" or path.name.endswith("_services.py"):
        return True
    return any(
        isinstance(node, ast.FunctionDef)
        and not node.name.startswith("_")
        and any(arg.arg == "actor" for arg in node.args.kwonlyargs)
        for node in tree.body
    )


def _discover() -> list[str]:
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if {"migrations", "management"} & set(path.parts):
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            if name not in NOT_SERVICES and _is_service_module(path, ast.parse(path.read_text())):
                found.append(name)
    return found


SERVICE_MODULES = _discover()
READ_ONLY = {
    "core.services": {"invite_link"},
    "models_registry.services": set(),
    # classification_draft_save: the questionnaire autosaves working state on every change; the
    # answers are recorded in the trail when the determination is submitted.
    "governance.services": {
        "application_date_map",
        "risk_tier_for",
        "needs_review_reason_for_change",
        "classification_draft_save",
    },
    "audits.certification.services": {
        "separation_problem",
        "cosigner_problem",
        "required_suite",
        "eligible_runs",
        "submission_blockers",
        "open_points",
        "undecided_critical_findings",
        "approvals_needed",
    },
    "audits.certification.transitions": set(),
    "audits.certification.resolution": {"escalation_problem"},
    "audits.certification.certificates": {"verification_url", "certificate_payload", "effective_status"},
    # Where a document is stored and what its name becomes: no state.
    "governance.answer_document_services": {"document_storage_key", "clean_file_name"},
    "governance.risks.services": {
        "threat_library",
        "risk_check",
        "risk_snapshot",
        "risk_update_check",
        # creates the default settings row on first read (the defaults, no choice)
        "risk_settings_for",
    },
    "governance.risks.importer": {"template_csv"},
    "audits.services": {
        "export_snapshot",
        "events_digest",
        "export_header",
        "export_header_line",
        "export_jsonl",
        "export_csv",
        # reads the events for verification and export, a chunk at a time
        "stream_records",
    },
    "audits.validation.services": {
        # takes a row lock for the caller's transaction; changes nothing
        "supersession_lock",
        "default_suite_for",
        "validation_policy_settings_get",
        "validation_policy_settings_fingerprint",
        "validation_policy_resolve",
        "validation_execute",
        # what the start form preselects: reads of the dataset profile and the model card
        "dataset_column_names",
        "model_version_default_features",
        "validation_column_defaults",
    },
    # what the PDF is built from, and where a done job's file is
    "audits.reports.jobs": {"report_source_sha256", "report_job_file"},
    # The Annex IV document's one service (annex_iv_document_save) writes an event per point.
    "audits.reports.services": set(),
    # Reads of the trail for one system's export; the export itself is recorded by the view.
    "audits.reports.system_trail": {
        "system_trail_object_ids",
        "system_trail_events",
        "system_trail_header",
        "system_trail_jsonl",
    },
}
# Services that change state but write no event, each on purpose. Every entry is a decision someone
# made (issue #12 item 18 lists them for review); a new silent service still fails the test.
UNAUDITED = {
    # A user's own bookmarks of register filters: preferences, not governance state.
    "governance.risks.services": {"saved_view_save", "saved_view_delete"},
    # The checkpoint signs the trail's head outside the database; an event per checkpoint would move
    # the head it just signed.
    "audits.services": {"audit_trail_checkpoint_write"},
    # Delivery plumbing of the outbox (published_at, attempts) and per-check result rows: the run's
    # own events (validation.started / attempt_started / completed / failed) record its story.
    # Saves fields for a caller whose own event (or submission_move's) describes the change.
    "audits.certification.transitions": {"submission_touch"},
    # A PDF job's claim and progress are worker plumbing; its request, its end (done or failed) and
    # the sweep that fails a stopped one each write their event.
    "audits.reports.jobs": {"report_job_claim", "report_job_progress"},
    "audits.validation.services": {
        "validation_publish",
        "validation_publish_pending",
        "validation_record_result",
        "validation_recheck_schedule",
    },
}


def _calls(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            names.add(func.id if isinstance(func, ast.Name) else getattr(func, "attr", ""))
    return names


def _reaches_writer(name: str, functions: dict[str, ast.AST], seen: set[str], writing: frozenset = frozenset()) -> bool:
    """Follows calls inside the module; a call to another module's service that writes counts too
    (the importer writes its risks through governance.risks.services)."""
    if name in seen or name not in functions:
        return False
    seen.add(name)
    calls = _calls(functions[name])
    return (
        "audit_record" in calls
        or bool(calls & writing)
        or any(_reaches_writer(c, functions, seen, writing) for c in calls)
    )


def _writing_services() -> frozenset:
    """Every service of every services module that reaches the writer within its own module."""
    names = set()
    for module_name in SERVICE_MODULES:
        functions, public = _public_services(module_name)
        names |= {name for name in public if _reaches_writer(name, functions, set())}
    return frozenset(names)


def _public_services(module_name: str):
    module = importlib.import_module(module_name)
    tree = ast.parse(inspect.getsource(module))
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    public = [
        n
        for n in functions
        if not n.startswith("_")
        and n not in READ_ONLY.get(module_name, set()) | UNAUDITED.get(module_name, set())
        and getattr(getattr(module, n, None), "__module__", "") == module_name
    ]
    return functions, public


def test_every_services_module_is_found_and_has_its_read_only_list():
    assert {
        "core.services",
        "models_registry.services",
        "governance.services",
        "governance.answer_document_services",
        "governance.risks.services",
        "governance.risks.importer",
        "audits.services",
        "audits.validation.services",
        "audits.certification.services",
        "audits.certification.certificates",
        "audits.certification.resolution",
    } <= set(SERVICE_MODULES)
    assert set(SERVICE_MODULES) == set(READ_ONLY), "list the read-only helpers of a new services module"
    assert set(UNAUDITED) <= set(SERVICE_MODULES)


@pytest.mark.parametrize("module_name", SERVICE_MODULES)
def test_every_public_service_writes_an_audit_event(module_name):
    functions, public = _public_services(module_name)
    assert public or READ_ONLY[module_name], f"no services found in {module_name}"
    writing = _writing_services()
    silent = [name for name in public if not _reaches_writer(name, functions, set(), writing)]
    assert silent == [], f"{module_name}: these services change state without an audit event: {silent}"

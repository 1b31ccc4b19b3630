"""Meta-test: every public service that changes state reaches the audit-trail writer.

It follows each service's calls inside its own module (private helpers included), so a new service
that forgets `audit_record` fails here even before anyone writes a behaviour test for it.
Read-only helpers that live in services modules are listed explicitly."""

import ast
import importlib
import inspect

import pytest

SERVICE_MODULES = ["core.services", "models_registry.services", "governance.services",
                   "audits.certification.services", "audits.certification.certificates"]
READ_ONLY = {
    "core.services": {"invite_link"},
    "models_registry.services": set(),
    # classification_draft_save: the questionnaire autosaves working state on every change; the
    # answers are recorded in the trail when the determination is submitted.
    "governance.services": {"application_date_map", "risk_tier_for", "needs_review_reason_for_change",
                            "classification_draft_save"},
    "audits.certification.services": {"separation_problem", "required_suite", "eligible_runs",
                                      "submission_blockers", "open_points", "undecided_critical_findings",
                                      "approvals_needed"},
    "audits.certification.certificates": {"verification_url", "certificate_payload", "effective_status"},
}


def _calls(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            names.add(func.id if isinstance(func, ast.Name) else getattr(func, "attr", ""))
    return names


def _reaches_writer(name: str, functions: dict[str, ast.AST], seen: set[str]) -> bool:
    if name in seen or name not in functions:
        return False
    seen.add(name)
    calls = _calls(functions[name])
    return "audit_record" in calls or any(_reaches_writer(c, functions, seen) for c in calls)


def _public_services(module_name: str):
    module = importlib.import_module(module_name)
    tree = ast.parse(inspect.getsource(module))
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    public = [n for n in functions if not n.startswith("_") and n not in READ_ONLY[module_name]
              and getattr(getattr(module, n, None), "__module__", "") == module_name]
    return functions, public


@pytest.mark.parametrize("module_name", SERVICE_MODULES)
def test_every_public_service_writes_an_audit_event(module_name):
    functions, public = _public_services(module_name)
    assert public, f"no services found in {module_name}"
    silent = [name for name in public if not _reaches_writer(name, functions, set())]
    assert silent == [], f"{module_name}: these services change state without an audit event: {silent}"

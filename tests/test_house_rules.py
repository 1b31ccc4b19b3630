"""The house rules are contracts that CI runs (scripts/test.sh), not prose: these tests keep the
contracts themselves from being loosened by accident (issue #12 item 17)."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def _contract(kind: str, words: str) -> dict:
    (found,) = [c for c in CONTRACTS if c["type"] == kind and words in c["name"]]
    return found


def test_the_layering_contract_lists_the_four_apps_from_audits_down_to_core():
    assert _contract("layers", "downward")["layers"] == ["audits", "governance", "models_registry", "core"]


def test_the_django_free_packages_may_import_neither_django_nor_any_app():
    contract = _contract("forbidden", "Django-free")
    assert set(contract["source_modules"]) == {
        "audits.checks",
        "governance.rules",
        "models_registry.safety",
        "models_registry.datasets",
    }
    assert {
        "django",
        "celery",
        "rest_framework",
        "config",
        "core",
        "audits.*",
        "governance.*",
        "models_registry.*",
    } <= set(contract["forbidden_modules"])
    assert contract.get("allow_indirect_imports") is False


def test_the_test_script_runs_every_static_check_before_pytest():
    script = (ROOT / "scripts" / "test.sh").read_text()
    checks = [".venv/bin/ruff check", ".venv/bin/ruff format --check", ".venv/bin/lint-imports", ".venv/bin/mypy"]
    positions = [script.index(check) for check in checks]
    assert positions == sorted(positions) and positions[-1] < script.index("-m pytest")


def test_no_template_comment_spans_lines_because_django_would_print_it_on_the_page():
    # Django's {# ... #} is a one-line comment: one that goes on to a second line is shown as text.
    broken = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "templates").rglob("*.html"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "{#" in line and "#}" not in line[line.index("{#") :]
    ]
    assert not broken, f"use {{% comment %}} for comments over several lines: {broken}"

"""The API against its own OpenAPI schema, fuzzed by schemathesis on a small budget: no input may
answer 500, and every status it answers must be one the schema documents.

The schema is loaded from the app (/api/schema/) and the WSGI app is driven in-process, as an ML
engineer with a real API token; a few objects exist so that some generated ids are found. Each
operation is one test with FUZZ_EXAMPLES examples (CI runs all of them in well under 3 minutes on
2 cores); raise it locally to explore more."""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))

application = get_wsgi_application()
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Django's handler closes the database connection when a response ends (request_finished);
    the test client turns that off, and so must a WSGI client, or the test's transaction is gone."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def token(ml_engineer, auditor, compliance_officer):
    """A real knox token of an ML engineer, with a system, a control and a risk to find."""
    from core.services import api_token_create
    from governance.risks import services as risks
    from models_registry.services import system_create

    system = system_create(actor=ml_engineer, name="Credit scoring", purpose="Score loan applications")
    control = risks.control_create(
        actor=compliance_officer,
        name="Quarterly review",
        control_type="preventive",
        effectiveness="effective",
        owner=compliance_officer,
    )
    risks.risk_create(
        actor=compliance_officer,
        data={
            "title": "Drift",
            "category": "robustness",
            "owner": compliance_officer,
            "systems": [system],
            "likelihood": 3,
            "impact": 3,
            "controls": [control],
        },
    )
    _, secret = api_token_create(actor=ml_engineer, name="fuzz")
    return secret


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
def test_no_input_answers_500_or_an_undocumented_status(case, token):
    case.call_and_validate(
        headers={"Authorization": f"Token {token}"}, checks=[not_a_server_error, status_code_conformance]
    )

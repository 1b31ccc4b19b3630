"""The public verification page speaks in words, not codes, and its details card never contradicts
the verdict above it."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from tests.audits.certification_support import *  # noqa: F403

pytestmark = pytest.mark.django_db


@pytest.fixture
def certificate(high_risk_approved):
    return high_risk_approved.certificate


def details(html: str, testid: str) -> str:
    start = html.index(f'data-testid="{testid}">') + len(f'data-testid="{testid}">')
    return html[start : html.index("</dd>", start)]


def test_the_public_page_names_the_risk_tier_outcome_decision_and_roles_in_words(certificate):
    html = Client().get(reverse("certificate_verify_id", args=[certificate.pk])).content.decode()
    assert details(html, "details-risk-tier") == "High risk (High-risk via Annex III (Art. 6(2)))"
    assert details(html, "details-decision") == "Approved"
    for code in ("high_risk_annex_iii", ">high<", ">approved<", "compliance_officer", ">approve<"):
        assert code not in html, f"the raw code {code} is on the page"
    assert "<td>Compliance officer</td><td>Approve</td>" in html
    assert certificate.document["payload"]["issued_at"] not in html  # shown as "YYYY-MM-DD HH:MM UTC"


def test_a_tampered_file_is_not_valid_in_the_details_card_too(certificate):
    document = json.loads(json.dumps(certificate.document))
    document["payload"]["valid_until"] = "2099-12-31"
    html = Client().post(reverse("certificate_verify"), {"document": json.dumps(document)}).content.decode()
    assert 'data-testid="verdict-word">NOT VALID<' in html
    assert "NOT VALID" in details(html, "details-file-status")
    assert "it differs from what this portal issued" in details(html, "details-file-status")
    assert details(html, "details-status").startswith("VALID")
    assert "the record below, not the file" in details(html, "details-status")


def test_a_good_file_has_one_status_row_that_agrees_with_the_verdict(certificate):
    html = Client().post(reverse("certificate_verify"), {"document": json.dumps(certificate.document)}).content.decode()
    assert 'data-testid="verdict-word">VALID<' in html
    assert 'data-testid="details-file-status"' not in html
    assert details(html, "details-status") == "VALID"

"""Content-Security-Policy, Permissions-Policy and no-store (issue #12 item 14). The browser test
tests/e2e/test_security_headers_browser.py proves the pages still work under the policy."""

import re
from pathlib import Path

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def test_every_page_carries_a_content_security_policy_and_a_permissions_policy(client):
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self';" in policy
    assert "unsafe-eval" not in policy and "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]


def test_pages_of_a_signed_in_user_and_api_answers_are_never_stored_but_public_pages_may_be(auditor):
    signed_in = Client()
    signed_in.force_login(auditor, backend="django.contrib.auth.backends.ModelBackend")
    assert "no-store" in signed_in.get("/")["Cache-Control"]
    assert "no-store" in signed_in.get("/api/v1/me/")["Cache-Control"]
    assert "no-store" in Client().get("/api/v1/me/")["Cache-Control"]  # even the 401/403
    assert "no-store" not in Client().get("/certificates/verify/").get("Cache-Control", "")


def test_no_template_has_an_inline_script_or_an_event_handler_attribute():
    """What lets script-src stay 'self': a template that needs script loads it from static/js."""
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"<script\b[^>]*>", text):
            if "src=" not in match.group(0) and 'type="application/json"' not in match.group(0):
                offenders.append(f"{path.relative_to(TEMPLATES)}: {match.group(0)}")
        offenders += [
            f"{path.relative_to(TEMPLATES)}: {m.group(0)}" for m in re.finditer(r"\son[a-z]+\s*=\s*[\"']", text)
        ]
        offenders += [f"{path.relative_to(TEMPLATES)}: javascript: URL" for _ in re.finditer(r"javascript:", text)]
    assert offenders == []

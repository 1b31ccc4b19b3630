"""One truth for the client address (issue #12 item 9): the audit trail, the log-in lock-out and
every throttle ask core.client_ip, which believes X-Forwarded-For only as far as proxies we run."""

import os
import subprocess
import sys
import uuid

import pytest
from axes.helpers import get_client_ip_address
from django.core.cache import cache
from django.test import RequestFactory
from django.urls import reverse
from rest_framework.test import APIClient

from audits.certification.public_views import CertificateVerifyThrottle
from core import context
from core.api.throttling import ClientAddressThrottle
from core.client_ip import client_ip
from core.middleware import RequestContextMiddleware
from core.models import AuditEvent
from tests.conftest import PASSWORD, ROOT

PROXY, CLIENT, FORGED = "10.0.0.2", "203.0.113.5", "6.6.6.6"


@pytest.fixture(autouse=True)
def fresh_counts():
    cache.clear()
    yield
    cache.clear()


def trail_ip(**meta) -> str | None:
    """The address the audit context (and so every event of the request) records."""
    seen = {}

    def view(request):
        seen["ip"] = context.current().ip
        from django.http import HttpResponse

        return HttpResponse()

    RequestContextMiddleware(view)(RequestFactory().get("/", **meta))
    return seen["ip"]


def addresses(**meta) -> dict[str, str | None]:
    request = RequestFactory().get("/", **meta)
    return {
        "trail": trail_ip(**meta),
        "axes": get_client_ip_address(request),
        "throttle": CertificateVerifyThrottle().get_ident(request),
        "function": client_ip(request),
    }


def test_without_a_trusted_proxy_a_forged_forwarded_for_changes_no_address():
    assert set(addresses(REMOTE_ADDR=CLIENT, HTTP_X_FORWARDED_FOR=FORGED).values()) == {CLIENT}


def test_with_one_trusted_proxy_the_right_most_untrusted_address_is_used(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    found = addresses(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"{FORGED}, {CLIENT}")
    assert set(found.values()) == {CLIENT}, found


def test_with_trusted_proxy_networks_the_right_most_address_outside_them_is_used(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert set(addresses(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"{FORGED}, {CLIENT}, 10.0.0.3").values()) == {CLIENT}
    # A client that reaches the portal without the proxy cannot forge its way in.
    assert set(addresses(REMOTE_ADDR=CLIENT, HTTP_X_FORWARDED_FOR=FORGED).values()) == {CLIENT}


def test_a_forwarded_chain_shorter_than_the_trusted_proxies_falls_back_to_the_socket_address(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="junk")) == PROXY


def test_every_throttle_keys_on_the_one_client_address():
    assert issubclass(CertificateVerifyThrottle, ClientAddressThrottle)


@pytest.mark.django_db
def test_a_forged_forwarded_for_does_not_give_a_fresh_throttle_bucket(monkeypatch):
    monkeypatch.setattr(CertificateVerifyThrottle, "THROTTLE_RATES", {"certificate_verify": "3/minute"})
    api = APIClient()
    url = f"/api/v1/certificates/{uuid.uuid4()}/status/"
    codes = [api.get(url, REMOTE_ADDR=CLIENT, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code for n in range(4)]
    assert codes == [404, 404, 404, 429]


@pytest.mark.django_db
def test_behind_one_trusted_proxy_two_clients_have_their_own_throttle_buckets(settings, monkeypatch):
    settings.TRUSTED_PROXY_COUNT = 1
    monkeypatch.setattr(CertificateVerifyThrottle, "THROTTLE_RATES", {"certificate_verify": "2/minute"})
    api = APIClient()
    url = f"/api/v1/certificates/{uuid.uuid4()}/status/"
    first = [
        api.get(url, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"{FORGED}{n}, {CLIENT}").status_code for n in range(3)
    ]
    other = api.get(url, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.9").status_code
    assert first == [404, 404, 429] and other == 404


@pytest.mark.django_db
def test_the_lock_out_counts_per_real_client_behind_the_trusted_proxy(settings, client, auditor):
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            reverse("login"),
            {"username": "arne", "password": "wrong"},
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=f"{FORGED}{n}, {CLIENT}",
        )
    locked = client.post(
        reverse("login"),
        {"username": "arne", "password": PASSWORD},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=f"1.1.1.1, {CLIENT}",
    )
    elsewhere = client.post(
        reverse("login"),
        {"username": "arne", "password": PASSWORD},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR="198.51.100.9",
    )
    assert locked.status_code == 429
    assert elsewhere.status_code == 302
    assert AuditEvent.objects.filter(verb="auth.login").get().ip == "198.51.100.9"


def _settings_value(code: str, **env) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"TRUST_X_FORWARDED_FOR", "TRUSTED_PROXY_COUNT", "TRUSTED_PROXIES", "CACHE_URL"}
    }
    return subprocess.run(
        [sys.executable, "-c", f"from django.conf import settings; print({code})"],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_older_trust_x_forwarded_for_switch_still_means_one_trusted_proxy():
    assert _settings_value("settings.TRUSTED_PROXY_COUNT", TRUST_X_FORWARDED_FOR="true").stdout.strip() == "1"
    assert _settings_value("settings.TRUSTED_PROXY_COUNT").stdout.strip() == "0"


@pytest.mark.parametrize(
    "env, message",
    [
        ({"TRUSTED_PROXIES": "10.0.0.0/8", "TRUSTED_PROXY_COUNT": "1"}, "not both"),
        ({"TRUSTED_PROXIES": "10.0.0.0/8,proxy.local"}, "TRUSTED_PROXIES"),
        ({"CACHE_URL": "memcached://cache:11211"}, "CACHE_URL"),
    ],
)
def test_malformed_proxy_and_cache_settings_stop_start_up(env, message):
    result = _settings_value("settings.DEBUG", **env)
    assert result.returncode != 0 and message in result.stderr


def test_a_redis_cache_url_makes_throttle_and_lock_out_counts_shared_between_processes():
    result = _settings_value("settings.CACHES['default']", CACHE_URL="redis://redis:6379/1")
    assert "RedisCache" in result.stdout and "redis://redis:6379/1" in result.stdout
    assert "LocMemCache" in _settings_value("settings.CACHES['default']").stdout

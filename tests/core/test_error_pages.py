"""Error pages: the 500 page names the request id to quote; service errors leaving an HTML view
become their 403/404/409/400 page (core.views_errors), the same table everywhere."""

from __future__ import annotations

import html

import pytest
from django.test import Client
from django.urls import include, path

from config.urls import handler500  # noqa: F401  (the project's own handler, as production uses it)
from core.errors import Conflict, NotAllowed, NotFound, TooLarge, ValidationFailed

pytestmark = pytest.mark.django_db


def _boom(request):
    raise RuntimeError("a bug")


def _raises(error):
    def view(request):
        raise error

    return view


urlpatterns = [
    path("boom/", _boom),
    path("not-allowed/", _raises(NotAllowed("Only an auditor signs off."))),
    path("not-found/", _raises(NotFound("That submission of Globex does not exist."))),
    path("conflict/", _raises(Conflict("The submission is already signed."))),
    path("invalid/", _raises(ValidationFailed("A reason is required."))),
    path("too-large/", _raises(TooLarge("At most 256 KB."))),
    path("api/v1/not-allowed/", _raises(NotAllowed("api"))),
    path("", include("config.urls")),
]


@pytest.fixture
def pages(settings):
    settings.ROOT_URLCONF = __name__
    settings.DEBUG = False
    return Client(raise_request_exception=False)


def _text(response) -> str:
    return html.unescape(response.content.decode())


def test_the_500_page_shows_the_request_id_the_response_carries(pages):
    response = pages.get("/boom/")
    assert response.status_code == 500
    request_id = response["X-Request-ID"]
    assert len(request_id) >= 8 and f'<code data-testid="request-id">{request_id}</code>' in _text(response)


def test_the_500_page_quotes_the_proxys_request_id(pages):
    response = pages.get("/boom/", HTTP_X_REQUEST_ID="edge-1234567890")
    assert response.status_code == 500 and "edge-1234567890" in _text(response)


@pytest.mark.parametrize(
    ("url", "status", "shown"),
    [
        ("/not-allowed/", 403, "Only an auditor signs off."),
        ("/conflict/", 409, "The submission is already signed."),
        ("/invalid/", 400, "A reason is required."),
        ("/too-large/", 413, "At most 256 KB."),
    ],
)
def test_a_service_error_leaving_a_page_is_its_error_page_with_the_reason(pages, url, status, shown):
    response = pages.get(url)
    assert response.status_code == status and shown in _text(response)
    assert f'data-status="{403 if status == 403 else 409 if status == 409 else 400}"' in _text(response)


def test_not_found_is_the_404_page_and_says_nothing_about_the_object(pages):
    response = pages.get("/not-found/")
    assert response.status_code == 404 and "Globex" not in _text(response)
    assert "It does not exist, or it belongs to another organisation." in _text(response)


def test_api_paths_are_left_to_the_apis_own_error_handler(pages):
    assert pages.get("/api/v1/not-allowed/").status_code == 500  # a plain view: not DRF, not a page

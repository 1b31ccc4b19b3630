"""With DEBUG on (make run), a wrong address gets the portal's 404 page, not Django's technical
page listing every URL; the API keeps its own answer."""

import pytest
from django.http import Http404
from django.test import Client
from django.urls import include, path

pytestmark = pytest.mark.django_db


def _missing(request):
    raise Http404("No such risk")


urlpatterns = [
    path("missing/", _missing),
    path("", include("config.urls")),
]


@pytest.fixture
def debug(settings):
    settings.DEBUG = True
    settings.ROOT_URLCONF = __name__


def assert_portal_404(response):
    body = response.content.decode()
    assert response.status_code == 404
    assert 'data-testid="error-page" data-status="404"' in body
    assert "URLconf" not in body and "DEBUG = True" not in body


def test_an_address_no_url_matches_gets_the_portals_404_page_in_debug(debug, ml_engineer):
    client = Client()
    client.force_login(ml_engineer)
    response = client.get("/no-such-page/")
    assert_portal_404(response)
    assert "Content-Security-Policy" in response.headers  # the same headers as any page


def test_a_view_raising_http404_gets_the_portals_404_page_in_debug(debug):
    assert_portal_404(Client().get("/missing/"))


def test_the_portals_404_page_is_served_without_debug_too(settings):
    settings.DEBUG = False
    assert_portal_404(Client().get("/no-such-page/"))

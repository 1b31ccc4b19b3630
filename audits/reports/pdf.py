"""HTML to PDF with WeasyPrint, for audit-ready reports.

The portal is air-gapped, so a report may only pull in the project's own static files and data:
URIs. Every other URL (http, https, ftp, any other file on disk) is refused by the URL fetcher;
WeasyPrint logs a warning and renders the page without that resource, so a template that still
points at a CDN cannot hang or leak anything.

Static files are addressed the way `{% static %}` writes them ("/static/reports/report.css"): the
default base URL maps them onto the staticfiles finders (STATICFILES_DIRS, app static folders) and
STATIC_ROOT.
"""

from __future__ import annotations

import functools
import mimetypes
import os
from urllib.parse import unquote, urlsplit
from urllib.request import DataHandler, Request

GENERATOR = "AI Governance Portal"


class ResourceRefused(ValueError):
    """A report referenced a URL outside the static files (WeasyPrint logs it and skips it)."""


def html_to_pdf(
    html: str, *, base_url: str | None = None, title: str | None = None, author: str | None = None
) -> bytes:
    """Render `html` to PDF bytes.

    `base_url` resolves relative URLs (default: the static URL prefix, so "/static/x.css" and
    "x.css" both name a static file). `title` and `author` set the PDF's /Title and /Author,
    overriding the HTML's <title> and <meta name="author">. The PDF carries no creation date
    and no random file identifier, so the same HTML gives the same bytes.
    """
    # Imported here: WeasyPrint loads Pango through cffi, which web start-up must not pay for.
    import weasyprint

    document = weasyprint.HTML(
        string=html,
        base_url=base_url or _default_base_url(),
        url_fetcher=static_url_fetcher(),
    ).render()
    metadata = document.metadata
    if title is not None:
        metadata.title = title
    if author is not None:
        metadata.authors = [author]
    metadata.generator = metadata.generator or GENERATOR
    return document.write_pdf()


def static_url_fetcher():
    """A WeasyPrint URL fetcher that serves static files and data: URIs and refuses the rest."""
    return _fetcher_class()()


def _default_base_url() -> str:
    prefix = _static_url_prefix()
    return f"file://{prefix}" if prefix else "file:///"


def _static_url_prefix() -> str | None:
    """'/static/' for STATIC_URL 'static/'; None when static files live on another host."""
    from django.conf import settings

    url = urlsplit(settings.STATIC_URL or "")
    if url.scheme or url.netloc:
        return None
    return "/" + url.path.strip("/") + "/"


def _static_roots() -> list[str]:
    """Real paths of every folder static files are served from."""
    from django.conf import settings
    from django.contrib.staticfiles.finders import get_finders

    roots = [settings.STATIC_ROOT] if settings.STATIC_ROOT else []
    for finder in get_finders():
        roots.extend(storage.location for storage in getattr(finder, "storages", {}).values())
    return sorted({os.path.realpath(root) for root in roots})


def _inside(path: str, roots: list[str]) -> bool:
    return any(os.path.commonpath([path, root]) == root for root in roots)


def _static_path(url: str) -> str:
    """The real path of the static file `url` names, or ResourceRefused."""
    from django.contrib.staticfiles import finders
    from django.core.exceptions import SuspiciousFileOperation

    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise ResourceRefused(f"remote file URL refused in a report: {url}")
    requested = unquote(parts.path)
    roots = _static_roots()
    candidate = os.path.realpath(requested)
    if not _inside(candidate, roots):
        prefix = _static_url_prefix()
        if not prefix or not requested.startswith(prefix):
            raise ResourceRefused(f"not a static file, refused in a report: {url}")
        try:
            found = finders.find(requested[len(prefix) :])
        except SuspiciousFileOperation:  # "../" out of a static folder
            found = None
        if not found:
            raise ResourceRefused(f"no such static file: {url}")
        # A symlink inside a static folder must not lead outside of it.
        candidate = os.path.realpath(found)
    if not _inside(candidate, roots) or not os.path.isfile(candidate):
        raise ResourceRefused(f"not a static file, refused in a report: {url}")
    return candidate


@functools.cache
def _fetcher_class():
    # Built on first use so that importing this module does not import WeasyPrint.
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyURLFetcher(URLFetcher):
        """Serves data: URIs and files under the static folders; refuses every other URL."""

        def fetch(self, url, headers=None):
            scheme = urlsplit(url).scheme.lower()
            if scheme == "data":
                response = DataHandler().data_open(Request(url))
                return URLFetcherResponse(url, response.read(), dict(response.headers))
            if scheme == "file":
                path = _static_path(url.split("?", 1)[0].split("#", 1)[0])
                content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
                with open(path, "rb") as handle:
                    body = handle.read()
                return URLFetcherResponse(url, body, {"Content-Type": content_type})
            raise ResourceRefused(f"network access refused in a report (air-gapped): {url}")

    return StaticOnlyURLFetcher

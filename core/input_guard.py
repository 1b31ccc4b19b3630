"""One guard for every text input: control characters are refused before any view sees them.

PostgreSQL refuses NUL (U+0000) in text and JSON, so a NUL that reached the ORM answered 500; other
C0 control characters and unpaired surrogates (which cannot even be encoded as UTF-8) make no sense
in a name, a justification or a filter either. `InputGuardMiddleware` checks, for every request:

- before sessions or tokens are looked up: the URL path, the query string, every header and cookie;
- before the view (and before the CSRF check reads the form): form fields (urlencoded and
  multipart, their names, values and the names of uploaded files, never file contents) and JSON
  bodies (every key and every string value, at any depth).

Tab, CR and LF are allowed in body values (a description has lines); nowhere else, since query
parameters, names, keys, headers and file names are single-line. The answer is a 400 naming the
field: `{"message", "code": "invalid_characters", "extra": {"field", "location", "character"}}`
under /api/, the 400 page elsewhere. Malformed bodies are left to the view (DRF answers its own
400 for broken JSON), except a multipart body Django cannot parse, answered here as `parse_error`.

Views that refuse large bodies themselves before reading them (the public certificate check) say
so with `body_limit`; a body over that limit is not read here either, so the view's 413 still comes
first. JSON and non-POST form bodies are held in memory to be checked: over
DATA_UPLOAD_MAX_MEMORY_SIZE they get 413, as Django already answers for a POST form.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.files.uploadhandler import FileUploadHandler
from django.http import JsonResponse, QueryDict
from django.http.multipartparser import MAX_TOTAL_HEADER_SIZE, MultiPartParser, MultiPartParserError
from django.shortcuts import render

# Multi-line text (body values): every C0 control but tab, LF and CR; and lone surrogates.
_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
# Single-line text (path, query, names, keys, headers, cookies, file names): every C0 control.
_IN_LINE = re.compile("[\x00-\x1f\ud800-\udfff]")
# Tab is part of HTTP's own field-value grammar (RFC 9110 5.5), so a header may carry it.
_IN_HEADER = re.compile("[\x00-\x08\x0a-\x1f\ud800-\udfff]")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LIMIT_ATTRIBUTE = "input_guard_body_limit"


@dataclass(frozen=True)
class Refusal:
    field: str
    location: str  # "path", "query", "header", "cookie" or "body"
    character: str  # "U+0000"

    @property
    def message(self) -> str:
        where = {
            "path": "The address",
            "query": f'The query parameter "{self.field}"',
            "header": f'The header "{self.field}"',
            "cookie": f'The cookie "{self.field}"',
        }
        subject = where.get(self.location, f'The field "{self.field}"')
        return (
            f"{subject} contains a control character ({self.character}), which is not allowed. "
            "Remove it and send the request again."
        )


def body_limit(max_bytes: int):
    """Mark a function view that refuses bodies over `max_bytes` itself before reading a byte: the
    guard then leaves such a body unread. Class views set the `input_guard_body_limit` attribute."""

    def mark(view):
        setattr(view, LIMIT_ATTRIBUTE, max_bytes)
        return view

    return mark


def control_character(text: str, *, multiline: bool = True) -> tuple[int, str] | None:
    """Where the first character the guard refuses is in `text`, and which ("U+0000"); None when
    there is none. For text the guard cannot see, such as an uploaded CSV that becomes rows."""
    match = (_IN_TEXT if multiline else _IN_LINE).search(text)
    return (match.start(), f"U+{ord(match.group()):04X}") if match else None


def _bad(text: str, pattern: re.Pattern) -> str | None:
    match = pattern.search(text)
    return f"U+{ord(match.group()):04X}" if match else None


def _shown(name: str) -> str:
    """A name as the answer can show it: its control characters escaped, never echoed raw."""
    return _IN_LINE.sub(lambda m: f"\\u{ord(m.group()):04x}", name)


def _join(path: str, key) -> str:
    key = _shown(str(key))
    return f"{path}.{key}" if path else key


def check_pairs(items, *, location: str, values: re.Pattern, names: re.Pattern = _IN_LINE) -> Refusal | None:
    """(name, value) pairs, e.g. a QueryDict's lists: names are single-line, values by `values`."""
    for name, value in items:
        found = _bad(name, names)
        if found:
            return Refusal(_shown(name), location, found)
        found = isinstance(value, str) and _bad(value, values)
        if found:
            return Refusal(_shown(name), location, found)
    return None


def check_json(document) -> Refusal | None:
    """Walk a decoded JSON document: keys are single-line, string values may have lines. Iterative,
    so a document nested as deep as the parser allows cannot exhaust the stack here."""
    stack = [("", document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            found = _bad(value, _IN_TEXT)
            if found:
                return Refusal(path or "(body)", "body", found)
        elif isinstance(value, dict):
            for key in value:
                found = _bad(key, _IN_LINE)
                if found:
                    return Refusal(_join(path, key), "body", found)
            stack.extend((_join(path, key), item) for key, item in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((_join(path, index), item) for index, item in reversed(list(enumerate(value))))
    return None


def check_form(data: QueryDict, files) -> Refusal | None:
    refusal = check_pairs(_each(data), location="body", values=_IN_TEXT)
    if refusal:
        return refusal
    for name, upload in _each(files):
        refusal = check_pairs([(name, getattr(upload, "name", "") or "")], location="body", values=_IN_LINE)
        if refusal:
            return refusal
    return None


def _each(multi) -> list[tuple[str, object]]:
    return [(name, value) for name, values in multi.lists() for value in values]


def check_request_line(request) -> Refusal | None:
    """What is read before any view: the path, the query string, the headers and the cookies."""
    found = _bad(request.path_info, _IN_LINE)
    if found:
        return Refusal("path", "path", found)
    refusal = check_pairs(_each(request.GET), location="query", values=_IN_LINE)
    if refusal:
        return refusal
    headers = [
        (key[5:].replace("_", "-").title(), value)
        for key, value in request.META.items()
        if key.startswith("HTTP_") and isinstance(value, str)
    ]
    headers += [
        (key.replace("_", "-").title(), request.META.get(key, "")) for key in ("CONTENT_TYPE", "CONTENT_LENGTH")
    ]
    refusal = check_pairs(headers, location="header", values=_IN_HEADER)
    if refusal:
        return refusal
    # Django unquotes cookie values ("\000" becomes a NUL), so the parsed values are checked too.
    return check_pairs(request.COOKIES.items(), location="cookie", values=_IN_LINE)


class _NameOnlyHandler(FileUploadHandler):
    """Reads a multipart body for its fields and file names only: file bytes are dropped."""

    def receive_data_chunk(self, raw_data, start):
        return None

    def file_complete(self, file_size):
        return _Named(self.file_name)


@dataclass
class _Named:
    name: str


def _too_big(request) -> bool:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return limit is not None and int(request.META.get("CONTENT_LENGTH") or 0) > limit


def check_body(request) -> Refusal | None:
    """Raises RequestDataTooBig for a body that would have to be held in memory and is too large,
    MultiPartParserError for a multipart body that cannot be read."""
    content_type = request.content_type or ""
    if content_type == "application/json" or content_type.endswith("+json"):
        if _too_big(request):
            raise RequestDataTooBig("The JSON body is too large.")
        try:
            document = json.loads(request.body.decode(request.encoding or "utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None  # malformed (or absurdly nested) JSON: the view answers 400 in its own words
        return check_json(document)
    if content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return None
    if request.method == "POST":  # Django parses it once; the view (and DRF) reuse request.POST/FILES
        return check_form(request.POST, request.FILES)
    if _too_big(request):
        raise RequestDataTooBig("The form body is too large.")
    if content_type == "multipart/form-data":
        parser = MultiPartParser(request.META, io.BytesIO(request.body), [_NameOnlyHandler(request)], request.encoding)
        data, files = parser.parse()
        return check_form(data, files)
    return check_form(QueryDict(request.body, encoding=request.encoding), QueryDict())


def _body_limit(view_func) -> int | None:
    owner = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None)
    return getattr(view_func, LIMIT_ATTRIBUTE, None) or getattr(owner, LIMIT_ATTRIBUTE, None)


def _is_api(request) -> bool:
    return request.path_info.startswith("/api/")


def refused(request, refusal: Refusal):
    if _is_api(request):
        return JsonResponse(
            {
                "message": refusal.message,
                "code": "invalid_characters",
                "extra": {"field": refusal.field, "location": refusal.location, "character": refusal.character},
            },
            status=400,
        )
    return render(request, "400.html", {"refusal": refusal}, status=400)


def _error(request, status: int, code: str, message: str):
    if _is_api(request):
        return JsonResponse({"message": message, "code": code, "extra": {}}, status=status)
    return render(request, "400.html", {"message": message}, status=status)


# Django reads at most 1 KB of headers per multipart part (MAX_TOTAL_HEADER_SIZE); in practice only
# a very long file name gets there, and Django's own words for it mean nothing to the uploader.
_HEADERS_TOO_LONG = "max total header size exceeded"
FILE_NAME_TOO_LONG = (
    "The upload could not be read: the name of the file is too long (a part of the form may carry at "
    f"most {MAX_TOTAL_HEADER_SIZE} bytes of headers, file name included). Rename the file to a shorter "
    "name, under 200 characters, and upload it again."
)


class InputGuardMiddleware:
    """See the module docstring. Sits right after RequestContextMiddleware (so a refusal carries
    its request id) and before the session, CSRF and authentication middleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refusal = check_request_line(request)
        if refusal:
            return refused(request, refusal)
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method not in _BODY_METHODS:
            return None
        limit = _body_limit(view_func)
        if limit is not None and int(request.META.get("CONTENT_LENGTH") or 0) > limit:
            return None  # the view refuses it (413) without reading it; so do not read it here
        try:
            refusal = check_body(request)
        except RequestDataTooBig:
            return _error(request, 413, "too_large", "The request body is too large.")
        except (MultiPartParserError, SuspiciousOperation) as exc:
            if _HEADERS_TOO_LONG in str(exc):
                return _error(request, 400, "file_name_too_long", FILE_NAME_TOO_LONG)
            return _error(request, 400, "parse_error", f"The request body could not be read: {exc}")
        return refused(request, refusal) if refusal else None

"""Control characters in any text input are refused with a 400 naming the field, never a 500.

PostgreSQL refuses NUL in text, so these tests matter most there (CI runs them on PostgreSQL). The
API cases are generated from the OpenAPI schema itself: every operation that takes a body or query
parameters, a NUL in each of its string fields (at any depth) and each query parameter."""

from __future__ import annotations

import html
import uuid

import pytest
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from core.input_guard import check_form, check_json

pytestmark = pytest.mark.django_db
NUL = "\x00"


def _page(response) -> str:
    return html.unescape(response.content.decode())


# --- cases from the schema ------------------------------------------------------------------------


def _schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


SCHEMA = _schema()


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = SCHEMA["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return _resolve(schema["allOf"][0])
    return schema


def _string_leaves(schema: dict, path: tuple = (), depth: int = 0):
    """Paths (tuples of keys and list indexes) to every string a body can hold."""
    schema = _resolve(schema)
    kind = schema.get("type")
    if depth > 4 or schema.get("readOnly"):
        return
    if kind == "string" or ("enum" in schema and kind in (None, "string")):
        if schema.get("format") != "binary":
            yield path
    elif kind == "array":
        yield from _string_leaves(schema.get("items", {}), path + (0,), depth + 1)
    elif kind == "object" or "properties" in schema:
        properties = {k: v for k, v in schema.get("properties", {}).items() if not _resolve(v).get("readOnly")}
        for name, sub in properties.items():
            yield from _string_leaves(sub, path + (name,), depth + 1)
        if not properties:  # free-form JSON (answers, claimed_metrics, a certificate): its keys and values
            yield path + ("key",)


def _nest(path: tuple, value):
    for step in reversed(path):
        value = [value] if isinstance(step, int) else {step: value}
    return value


def _concrete(path: str, operation: dict) -> str:
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            schema = parameter.get("schema", {})
            fill = (
                str(uuid.uuid4())
                if schema.get("format") == "uuid"
                else ("1" if schema.get("type") == "integer" else "x")
            )
            path = path.replace("{" + parameter["name"] + "}", fill)
    return path


def _cases():
    for path, operations in SCHEMA["paths"].items():
        for method, operation in operations.items():
            url = _concrete(path, operation)
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    yield pytest.param(
                        method, url, "query", parameter["name"], None, id=f"{method} {path} ?{parameter['name']}"
                    )
            content = operation.get("requestBody", {}).get("content", {})
            media = next(
                (
                    m
                    for m in ("application/json", "multipart/form-data", "application/x-www-form-urlencoded")
                    if m in content
                ),
                None,
            )
            if media is None:
                continue
            for leaf in _string_leaves(content[media]["schema"]):
                if media != "application/json":
                    leaf = leaf[:1]  # forms are flat: a list field is the same name sent again
                dotted = ".".join(str(step) for step in leaf) or "(body)"
                yield pytest.param(method, url, media, dotted, leaf, id=f"{method} {path} {dotted} ({media})")


CASES = list(_cases())


def test_the_schema_gives_cases_for_the_endpoints_of_the_drill():
    ids = {case.id for case in CASES}
    assert "post /api/v1/risks/ owner (application/json)" in ids
    assert "patch /api/v1/risks/{id}/ owner (application/json)" in ids
    assert "post /api/v1/controls/ name (application/json)" in ids
    assert "post /api/v1/submissions/{id}/sign/ conditions.0.text (application/json)" in ids
    assert "get /api/v1/risks/ ?q" in ids
    assert len(CASES) > 150


@pytest.fixture
def api(compliance_officer):
    from core.services import api_token_create

    _, secret = api_token_create(actor=compliance_officer, name="guard")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


@pytest.mark.parametrize(("method", "url", "where", "field", "leaf"), CASES)
def test_a_nul_in_any_api_text_input_is_a_400_naming_the_field(api, method, url, where, field, leaf):
    call = getattr(api, method)
    if where == "query":
        response = call(url + f"?{field}=ok%00value")
    elif where == "application/json":
        response = call(url, _nest(leaf, f"a{NUL}b"), format="json")
    else:
        response = call(url, {field: f"a{NUL}b"}, format="multipart" if where.startswith("multipart") else None)
    assert response.status_code == 400, (response.status_code, response.content[:300])
    body = response.json()
    assert body["code"] == "invalid_characters"
    assert body["extra"]["field"] == field and body["extra"]["character"] == "U+0000"
    assert set(body) == {"message", "code", "extra"}


# --- the drill's examples, and what is still allowed -------------------------------------------------


@pytest.fixture
def risk(compliance_officer):
    from core.choices import Role
    from governance.risks import services
    from models_registry.services import system_create
    from tests.conftest import make_user

    engineer = make_user(compliance_officer.organisation, "eve", Role.ML_ENGINEER)
    system = system_create(actor=engineer, name="Credit scoring", purpose="Score loans")
    return services.risk_create(
        actor=compliance_officer,
        data={
            "title": "Drift",
            "category": "robustness",
            "owner": compliance_officer,
            "systems": [system],
            "likelihood": 3,
            "impact": 3,
        },
    )


def test_the_drills_risk_patch_with_a_nul_owner_is_a_400_not_a_500(api, risk):
    response = api.patch(f"/api/v1/risks/{risk.pk}/", {"owner": NUL}, format="json")
    assert response.status_code == 400 and response.json()["extra"]["field"] == "owner"


def test_lines_and_tabs_stay_allowed_in_a_description(api, risk):
    response = api.patch(f"/api/v1/risks/{risk.pk}/", {"description": "First line\r\n\tsecond line"}, format="json")
    assert response.status_code == 200, response.content
    risk.refresh_from_db()
    assert risk.description == "First line\r\n\tsecond line"


def test_a_newline_is_refused_in_a_query_parameter_and_in_a_json_key(api):
    assert api.get("/api/v1/risks/?q=a%0Ab").json()["extra"] == {
        "field": "q",
        "location": "query",
        "character": "U+000A",
    }
    response = api.put("/api/v1/classification/systems/1/draft/", {"answers": {"q\n1": "yes"}}, format="json")
    assert response.status_code == 400 and response.json()["extra"]["field"] == "answers.q\\u000a1"


def test_an_unpaired_surrogate_which_cannot_be_stored_is_refused(api, risk):
    response = api.generic(
        "PATCH", f"/api/v1/risks/{risk.pk}/", b'{"title": "a\\ud800b"}', content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["extra"]["character"] == "U+D800"


def test_malformed_json_is_left_to_drfs_own_400(api, risk):
    response = api.generic("PATCH", f"/api/v1/risks/{risk.pk}/", b'{"title": ', content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "parse_error"


def test_a_json_body_too_large_to_check_in_memory_is_a_413(api, risk, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.patch(f"/api/v1/risks/{risk.pk}/", {"description": "x" * 2000}, format="json")
    assert response.status_code == 413 and response.json()["code"] == "too_large"


def test_a_urlencoded_patch_is_checked_too(api, risk):
    response = api.generic(
        "PATCH", f"/api/v1/risks/{risk.pk}/", "owner=%00", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400 and response.json()["extra"]["field"] == "owner"


# --- what is read before any view: path, headers, cookies ----------------------------------------


def test_a_nul_in_the_token_header_is_a_400_not_a_database_lookup():
    response = APIClient().get("/api/v1/me/", HTTP_AUTHORIZATION="Token agp_\x00abc")
    assert response.status_code == 400
    assert response.json()["extra"] == {"field": "Authorization", "location": "header", "character": "U+0000"}


def test_a_nul_in_the_session_cookie_is_a_400_not_a_session_lookup(client):
    client.cookies["sessionid"] = "\x00" * 32
    response = client.get(reverse("home"))
    assert response.status_code == 400
    assert b"sessionid" in response.content and b"U+0000" in response.content


def test_a_nul_in_a_path_segment_is_a_400(client):
    response = client.get("/accounts/invite/%00/abc/")
    assert response.status_code == 400 and b"The address contains a control character" in response.content


# --- HTML forms and list filters -----------------------------------------------------------------


def test_an_html_list_filter_with_a_nul_is_the_400_page_naming_the_filter(client, compliance_officer):
    client.force_login(compliance_officer)
    response = client.get(reverse("governance:risk_list"), {"owner": NUL})
    assert response.status_code == 400
    assert 'The query parameter "owner" contains a control character (U+0000)' in _page(response)


def test_an_html_form_field_with_a_nul_is_the_400_page_and_nothing_is_saved(client, compliance_officer):
    from governance.risks.models import Control

    client.force_login(compliance_officer)
    response = client.post(
        reverse("governance:control_list"),
        {
            "name": f"Review{NUL}",
            "control_type": "preventive",
            "effectiveness": "effective",
            "owner": compliance_officer.pk,
        },
    )
    assert response.status_code == 400 and 'The field "name"' in _page(response)
    assert not Control.objects.exists()


def test_the_login_form_refuses_a_nul_user_name_before_the_lock_out_records_it(client):
    from axes.models import AccessAttempt

    response = client.post(reverse("login"), {"username": f"ada{NUL}", "password": "x"})
    assert response.status_code == 400 and 'The field "username"' in _page(response)
    assert not AccessAttempt.objects.exists()


def test_a_multipart_form_is_checked_field_by_field(client, compliance_officer):
    client.force_login(compliance_officer)
    response = client.post(reverse("governance:risk_import"), {"mode": f"all{NUL}", "action": "dry_run"})
    assert response.status_code == 400 and 'The field "mode"' in _page(response)


def test_file_names_are_single_line_and_values_may_have_lines():
    from django.http import QueryDict
    from django.utils.datastructures import MultiValueDict

    class Upload:
        name = "model\x00.joblib"

    refusal = check_form(QueryDict("note=a%0Ab"), MultiValueDict({"file": [Upload()]}))
    assert (refusal.field, refusal.character) == ("file", "U+0000")
    assert check_form(QueryDict("note=a%0Ab"), MultiValueDict()) is None
    assert check_json({"a": [{"b": "x\ty"}]}) is None
    assert check_json({"a": [{"b": "x\x07y"}]}).field == "a.0.b"


# --- file contents are not the guard's: the readers that turn them into rows refuse them ---------


def test_a_risk_import_with_a_nul_in_a_cell_is_refused_naming_its_line(compliance_officer):
    from core.errors import ValidationFailed
    from governance.risks.importer import risk_import
    from governance.risks.models import Risk

    csv = "title,category,systems,likelihood,impact\nDrift,robustness,Credit,3,3\nTheft\x00,security,Credit,2,5\n"
    with pytest.raises(ValidationFailed) as refused:
        risk_import(actor=compliance_officer, raw=csv.encode(), apply=True)
    assert refused.value.code == "invalid_characters" and refused.value.extra["line"] == 3
    assert not Risk.objects.exists()


def test_json_nested_deeper_than_the_parser_allows_is_left_to_the_view():
    response = APIClient().post("/api/v1/certificates/verify/", "[" * 100_000, content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] != "invalid_characters"


def test_a_deeply_nested_nul_is_found_without_exhausting_the_stack():
    document = "x\x00"
    for _ in range(5000):
        document = [document]
    assert check_json(document).field == ".".join(["0"] * 5000)


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/api/v1/submissions/", "system"),
        ("/api/v1/submissions/", "model_version"),
        ("/api/v1/validations/", "system"),
        ("/api/v1/findings/", "run"),
        ("/api/v1/risks/", "likelihood"),
    ],
)
@pytest.mark.parametrize("value", ["-1.007827030442685e+209", "2.0452931410351527e-273", str(2**70), "1.5"])
def test_a_numeric_filter_outside_the_databases_integers_is_a_400_naming_it_not_a_500(api, url, name, value):
    """What schemathesis found: NumberFilter turned -1e209 into a 210-digit integer for the query."""
    response = api.get(url, {name: value})
    assert response.status_code == 400, response.content[:300]
    assert name in str(response.json())


def test_a_whole_number_filter_still_filters(api):
    assert api.get("/api/v1/risks/", {"likelihood": "3"}).status_code == 200
    assert api.get("/api/v1/submissions/", {"system": "999999"}).json()["count"] == 0

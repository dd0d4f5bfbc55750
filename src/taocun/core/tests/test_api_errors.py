"""Whatever a client sends, the API answers its JSON error shape with a 4xx status.

The translations live in :mod:`taocun.api`; these tests go through the HTTP layer.
"""

import json
import re

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from taocun.accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token"


def assert_error(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["message"], str) and body["message"]
    assert body["code"] == code, body
    if field is not None:
        assert body.get("field") == field, body
    return body


@pytest.fixture
def client() -> Client:
    return Client()


# --- bodies ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"garbage",
        b"{'phone': 'single quotes'}",
        b"\xff\xfe\x00garbage",
        b"\xc3\x28",  # invalid UTF-8
        b"[" * 100_000,  # nesting deep enough to exhaust the parser's recursion
        b"1" * 5_000,  # an integer with too many digits for Python to convert
    ],
)
def test_malformed_json_is_400(client, body):
    response = client.post(TOKEN_URL, body, content_type="application/json")

    assert_error(response, 400, "malformed_json", field="body")


@pytest.mark.parametrize("body", [b"null", b"[]", b"[1, 2]", b"42", b'"a string"', b"true", b"{}"])
def test_json_that_is_not_an_object_is_400_invalid(client, body):
    response = client.post(TOKEN_URL, body, content_type="application/json")

    assert_error(response, 400, "invalid")


def test_wrong_types_are_400_naming_the_field(client):
    response = client.post(
        TOKEN_URL, {"phone": {"nested": True}, "password": None}, content_type="application/json"
    )

    body = assert_error(response, 400, "invalid", field="phone")
    assert {e["field"] for e in body["errors"]} == {"phone", "password"}


def test_unicode_everywhere_is_an_answer_not_a_crash(client):
    response = client.post(
        TOKEN_URL,
        {"phone": "一三八〇〇一三八〇〇〇", "password": "密码🔑\ud7ff\u200b", "name": "👩‍🌾"},
        content_type="application/json",
    )

    assert_error(response, 401, "bad_credentials")


@pytest.mark.parametrize("field", ["phone", "password", "name"])
def test_nul_characters_are_400_naming_the_field(client, field):
    payload = {"phone": "13800138000", "password": "secret", "name": "", field: "a\x00b"}

    response = client.post(TOKEN_URL, payload, content_type="application/json")

    assert_error(response, 400, "invalid", field=field)


def test_nul_in_a_search_is_400(client):
    response = client.get("/api/v1/regions/search", {"q": "义\x00乌"})

    assert_error(response, 400, "invalid", field="q")


def test_a_body_over_the_limit_is_413(client):
    body = b'{"phone": "' + b"1" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + b'"}'

    response = client.post(TOKEN_URL, body, content_type="application/json")

    assert_error(response, 413, "too_large", field="body")


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",
        "text/plain",
        "application/xml",
        "multipart/form-data; boundary=x",
        "",
    ],
)
def test_a_body_that_is_not_json_is_415(client, content_type):
    response = client.generic(
        "POST", TOKEN_URL, b"phone=13800138000&password=x", content_type=content_type
    )

    assert_error(response, 415, "unsupported_media_type", field="body")


def test_a_huge_form_body_is_refused_without_reading_it(client):
    body = b"a=" + b"b" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE * 2)

    response = client.generic(
        "POST", TOKEN_URL, body, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code in {413, 415}
    assert response.json()["code"] in {"too_large", "unsupported_media_type"}


def test_a_json_content_type_with_a_charset_is_accepted(client):
    UserFactory(phone="+8613800138000")

    response = client.post(
        TOKEN_URL,
        json.dumps({"phone": "13800138000", "password": "wrong"}).encode(),
        content_type="application/json; charset=utf-8",
    )

    assert_error(response, 401, "bad_credentials")


# --- routes, methods, parameters --------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
@pytest.mark.parametrize(
    "path",
    ["/api/v1/nothing", "/api/v1/regions/330782000000/nothing", "/api/v1/me/", "/api/v1/%E4%B9%89"],
)
def test_unknown_routes_are_json_404(client, method, path):
    response = getattr(client, method)(path)

    assert_error(response, 404, "not_found")


def test_a_wrong_method_is_json_405_with_allow(client):
    response = client.put("/api/v1/regions")

    assert_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET"


def test_the_root_points_to_the_docs(client):
    body = client.get("/api/v1/").json()

    assert (body["docs"], body["openapi"]) == ("/api/v1/docs", "/api/v1/openapi.json")


def test_too_many_query_parameters_is_400(client):
    query = "&".join(f"p{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))

    response = client.get(f"/api/v1/regions/search?q=x&{query}")

    assert_error(response, 400, "too_many_fields")


def test_an_application_error_keeps_its_status_code_and_field(client):
    response = client.get("/api/v1/regions/search", {"q": "   "})

    assert_error(response, 400, "invalid", field="q")


# --- fuzzing -----------------------------------------------------------------------------

FUZZ = hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["phone", "password", "name", "x"]) | st.text(), children, max_size=4
        )
    ),
    max_leaves=12,
)


@FUZZ
@given(body=st.binary(max_size=300))
def test_fuzz_any_bytes_to_the_token_endpoint(client, body):
    response = client.post(TOKEN_URL, body, content_type="application/json")

    assert 400 <= response.status_code < 500
    assert set(response.json()) >= {"code", "message"}


@FUZZ
@given(value=json_values)
def test_fuzz_any_json_to_the_token_endpoint(client, value):
    response = client.post(TOKEN_URL, json.dumps(value), content_type="application/json")

    assert 400 <= response.status_code < 500
    assert set(response.json()) >= {"code", "message"}


@FUZZ
@given(
    q=st.text(max_size=60) | st.just("\x00"),
    level=st.text(max_size=12),
    limit=st.text(max_size=12),
)
def test_fuzz_search_parameters(client, q, level, limit):
    response = client.get("/api/v1/regions/search", {"q": q, "level": level, "limit": limit})

    assert response.status_code in {200, 400}
    if response.status_code == 400:
        assert response.json()["code"] == "invalid"


@FUZZ
@given(code=st.text(min_size=1, max_size=20).filter(lambda s: "/" not in s))
def test_fuzz_codes_in_the_path(client, code):
    response = client.get("/api/v1/regions/" + code)

    assert response.status_code in {400, 404}
    assert response.json()["code"] in {"invalid", "not_found"}


# --- schema and docs ---------------------------------------------------------------------


def test_openapi_lists_every_endpoint(client):
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) >= {
        "/api/v1/auth/token",
        "/api/v1/auth/token/{token_id}",
        "/api/v1/me",
        "/api/v1/regions",
        "/api/v1/regions/search",
        "/api/v1/regions/{code}",
        "/api/v1/regions/{code}/children",
        "/api/v1/regions/{code}/households",
    }
    assert not any("rest" in path for path in schema["paths"])  # the 404 fallback is hidden
    assert {"BearerTokenAuth", "SessionCookieAuth"} <= set(schema["components"]["securitySchemes"])


def test_the_docs_page_loads_nothing_from_the_internet(client):
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui-bundle.js" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.IGNORECASE)
    assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", html)
    assert '"validatorUrl": null' in html


def test_the_docs_assets_are_local_files():
    """Swagger UI comes from the django-ninja wheel; needs "ninja" in INSTALLED_APPS."""
    for name in ("ninja/swagger-ui.css", "ninja/swagger-ui-bundle.js", "ninja/swagger-ui-init.js"):
        assert finders.find(name), f"{name} is not found by staticfiles"

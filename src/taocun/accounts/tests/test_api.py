"""API tokens and /me, through the HTTP layer and the real database."""

import pytest
from django.conf import settings
from django.test import Client

from taocun.accounts.models import ApiToken, Role
from taocun.accounts.services import api_token_create
from taocun.accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from taocun.core.models import AuditEntry

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token"


def _get_token(client: Client, phone: str, password: str = DEFAULT_PASSWORD, **extra):
    return client.post(
        TOKEN_URL, {"phone": phone, "password": password, **extra}, content_type="application/json"
    )


def _bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def user(db):
    return UserFactory(phone="+8613800138000", roles=[(Role.BUYER, None)])


# --- getting a token ---------------------------------------------------------------------


def test_a_token_for_phone_and_password_opens_the_api(user):
    client = Client()

    response = _get_token(client, "138 0013 8000", name="手机")

    assert response.status_code == 201
    body = response.json()
    assert body["token"].startswith("tc_") and body["token"].startswith(body["prefix"])
    assert body["name"] == "手机"
    token = ApiToken.objects.get(pk=body["id"])
    assert body["token"] not in token.digest  # only the digest is stored
    assert AuditEntry.objects.filter(action="api_token.create", object_id=str(token.pk)).exists()
    me = client.get("/api/v1/me", **_bearer(body["token"]))
    assert me.status_code == 200 and me.json()["phone"] == "+8613800138000"


def test_the_token_endpoint_needs_no_csrf_token(user):
    client = Client(enforce_csrf_checks=True)

    assert _get_token(client, user.phone).status_code == 201


def test_a_wrong_password_is_401(user):
    response = _get_token(Client(), user.phone, "not-the-password")

    assert response.status_code == 401
    assert response.json()["code"] == "bad_credentials"
    assert not ApiToken.objects.exists()


def test_an_unknown_or_malformed_phone_is_the_same_401(user):
    for phone in ("13900139000", "not a phone", "☎️" * 10):
        response = _get_token(Client(), phone)

        assert response.status_code == 401, phone
        assert response.json()["code"] == "bad_credentials"


def test_an_inactive_user_gets_no_token(user):
    user.is_active = False
    user.save(update_fields=["is_active"])

    assert _get_token(Client(), user.phone).status_code == 401


def test_after_too_many_failures_even_the_right_password_is_throttled(user):
    client = Client()
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        assert _get_token(client, user.phone, "wrong-password").status_code == 401

    response = _get_token(client, user.phone)

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"password": DEFAULT_PASSWORD}, "phone"),
        ({"phone": "13800138000"}, "password"),
        ({"phone": 13800138000, "password": DEFAULT_PASSWORD}, "phone"),
        ({"phone": "13800138000", "password": ["a"]}, "password"),
        ({"phone": "13800138000", "password": "x" * 257}, "password"),
        ({"phone": "13800138000", "password": DEFAULT_PASSWORD, "name": "n" * 61}, "name"),
    ],
)
def test_bad_token_requests_are_400_naming_the_field(user, payload, field):
    response = Client().post(TOKEN_URL, payload, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response.json()["field"] == field


# --- revoking a token --------------------------------------------------------------------


def test_revoking_a_token_with_itself(user):
    token, raw = api_token_create(user=user)
    client = Client()

    response = client.delete(f"{TOKEN_URL}/{token.pk}", **_bearer(raw))

    assert response.status_code == 204
    assert client.get("/api/v1/me", **_bearer(raw)).status_code == 401
    assert AuditEntry.objects.filter(action="api_token.revoke", object_id=str(token.pk)).exists()
    again = client.delete(f"{TOKEN_URL}/{token.pk}", **_bearer(api_token_create(user=user)[1]))
    assert (again.status_code, again.json()["code"]) == (404, "not_found")


def test_someone_elses_token_is_not_found(user):
    token, raw = api_token_create(user=user)
    _, other_raw = api_token_create(user=UserFactory())

    response = Client().delete(f"{TOKEN_URL}/{token.pk}", **_bearer(other_raw))

    assert response.status_code == 404
    assert Client().get("/api/v1/me", **_bearer(raw)).status_code == 200


@pytest.mark.parametrize("token_id", ["abc", "1.5", "9" * 30])
def test_a_bad_token_id_is_400_or_404_never_500(user, token_id):
    _, raw = api_token_create(user=user)

    response = Client().delete(f"{TOKEN_URL}/{token_id}", **_bearer(raw))

    assert response.status_code in {400, 404}
    assert response.json()["code"] in {"invalid", "not_found"}


def test_revoking_with_the_session_needs_the_csrf_token(user):
    token, _ = api_token_create(user=user)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    refused = client.delete(f"{TOKEN_URL}/{token.pk}")
    client.get("/api/v1/docs")  # any page that sets the CSRF cookie
    accepted = client.delete(
        f"{TOKEN_URL}/{token.pk}", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value
    )

    assert (refused.status_code, refused.json()["code"]) == (403, "csrf_failed")
    assert accepted.status_code == 204


def test_revoking_anonymously_is_401_not_a_csrf_error():
    response = Client(enforce_csrf_checks=True).delete(f"{TOKEN_URL}/1")

    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")


# --- /me ---------------------------------------------------------------------------------


def test_me_lists_roles_with_their_scopes(tree, user_with_role, client_for):
    officer = user_with_role(Role.OFFICER, tree.yiwu, display_name="王科长")

    response = client_for(officer).get("/api/v1/me")

    assert response.status_code == 200
    assert response.json() == {
        "id": officer.pk,
        "phone": officer.phone,
        "display_name": "王科长",
        "roles": [
            {
                "role": "officer",
                "scope": {"code": "330782000000", "name": "义乌市", "level": "county"},
            }
        ],
    }


def test_me_with_a_role_without_scope(user, client_for):
    assert client_for(user).get("/api/v1/me").json()["roles"] == [{"role": "buyer", "scope": None}]


@pytest.mark.parametrize(
    "header",
    [
        "Bearer tc_not-a-token",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "tc_raw-without-scheme",
        "Bearer " + "x" * 10_000,
        "Bearer 令牌",
    ],
)
def test_me_with_a_bad_authorization_header_is_401(user, header):
    response = Client().get("/api/v1/me", HTTP_AUTHORIZATION=header)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_token_of_a_deactivated_user_stops_working(user):
    _, raw = api_token_create(user=user)
    user.is_active = False
    user.save(update_fields=["is_active"])

    assert Client().get("/api/v1/me", **_bearer(raw)).status_code == 401

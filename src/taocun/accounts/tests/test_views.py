"""Log in, sign up and log out through the real pages."""

import pytest
from django.conf import settings
from django.test import Client

from taocun.accounts.models import Role, User
from taocun.accounts.tests.factories import DEFAULT_PASSWORD, UserFactory


@pytest.fixture
def client(db):
    client = Client(enforce_csrf_checks=True)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _csrf_post(client: Client, url: str, data: dict):
    """Post a form the way a browser does: fetch the page first, send its CSRF token."""
    page = client.get(url)
    assert page.status_code == 200
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    return client.post(url, {**data, "csrfmiddlewaretoken": token})


def test_login_succeeds_and_goes_home(client):
    user = UserFactory(phone="+8613800138000")
    response = _csrf_post(
        client, "/accounts/login/", {"phone": "138 0013 8000", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(user.pk)


def test_login_without_csrf_token_is_refused(client):
    UserFactory(phone="+8613800138000")
    response = client.post(
        "/accounts/login/", {"phone": "13800138000", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 403


def test_login_failure_shows_the_error_and_keeps_the_phone(client):
    UserFactory(phone="+8613800138000")
    response = _csrf_post(
        client, "/accounts/login/", {"phone": "13800138000", "password": "wrong-password"}
    )
    assert response.status_code == 401
    html = response.content.decode()
    assert "Wrong phone number or password." in html
    assert 'value="13800138000"' in html
    assert "_auth_user_id" not in client.session


def test_login_is_throttled_even_with_the_right_password(client):
    UserFactory(phone="+8613800138000")
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        response = _csrf_post(
            client, "/accounts/login/", {"phone": "13800138000", "password": "wrong-password"}
        )
        assert response.status_code == 401
    response = _csrf_post(
        client, "/accounts/login/", {"phone": "13800138000", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 429
    assert "Too many failed attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_error_is_translated(db):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    response = client.post("/accounts/login/", {"phone": "13800138000", "password": "x"})
    assert "手机号码或密码错误。" in response.content.decode()


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/regions/", "/regions/"),
        ("/regions/?q=1", "/regions/?q=1"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_login_redirects_only_to_local_next(client, target, expected):
    UserFactory(phone="+8613800138000")
    response = _csrf_post(
        client,
        f"/accounts/login/?next={target}",
        {"phone": "13800138000", "password": DEFAULT_PASSWORD, "next": target},
    )
    assert response.status_code == 302
    assert response["Location"] == expected


def test_login_page_keeps_a_safe_next_only(client):
    html = client.get("/accounts/login/?next=/regions/households/").content.decode()
    assert 'name="next" value="/regions/households/"' in html
    html = client.get("/accounts/login/?next=https://evil.example/").content.decode()
    form = html.split('action="/accounts/login/"', 1)[1].split("</form>", 1)[0]
    assert 'name="next"' not in form and "evil.example" not in form


def test_protected_page_sends_to_login_and_back(client, tree):
    response = client.get("/regions/households/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/regions/households/"


def test_signup_creates_a_buyer_and_logs_in(client):
    response = _csrf_post(
        client,
        "/accounts/signup/",
        {"phone": "+86 139 0000 1111", "password": "tea-garden-2024", "display_name": "王芳"},
    )
    assert response.status_code == 302 and response["Location"] == "/"
    user = User.objects.get(phone="+8613900001111")
    assert user.roles == {Role.BUYER} and user.display_name == "王芳"
    assert client.session["_auth_user_id"] == str(user.pk)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"phone": "12345", "password": "tea-garden-2024"},
            "phone",
            "is not a mainland China mobile number",
        ),
        ({"phone": "13900001111", "password": "123"}, "password", "This password is too short"),
        (
            {"phone": "13900001111", "password": "12345678901"},
            "password",
            "This password is entirely numeric",
        ),
    ],
)
def test_signup_shows_errors_next_to_the_field(client, data, field, message):
    response = _csrf_post(client, "/accounts/signup/", data)
    assert response.status_code == 400
    html = response.content.decode()
    error = html.split(f'id="id_{field}_error">', 1)[1].split("</p>", 1)[0]
    assert message in error
    assert f'<input type="{"tel" if field == "phone" else "password"}" id="id_{field}"' in html
    assert not User.objects.exists()


def test_signup_refuses_a_duplicate_phone(client):
    UserFactory(phone="+8613900001111")
    response = _csrf_post(
        client, "/accounts/signup/", {"phone": "139 0000 1111", "password": "tea-garden-2024"}
    )
    assert response.status_code == 400
    assert 'id="id_phone_error">This phone number already has an account.' in (
        response.content.decode()
    )
    assert User.objects.count() == 1


def test_logout_needs_post(client):
    user = UserFactory()
    client.force_login(user)
    assert client.get("/accounts/logout/").status_code == 405
    assert "_auth_user_id" in client.session
    page = client.get("/")
    assert "Log out" in page.content.decode()
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post("/accounts/logout/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == "/"
    assert "_auth_user_id" not in client.session

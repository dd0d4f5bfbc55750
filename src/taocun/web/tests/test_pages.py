"""The web shell: languages, navigation by role, error pages and the page-weight budget."""

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from taocun.accounts.models import Role

PAGE_BUDGET_BYTES = 100 * 1024


def _in_language(language: str) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


@pytest.mark.parametrize(
    ("language", "expected"),
    [("zh-hans", "登录"), ("en", "Log in"), ("fr", "Se connecter")],
)
@pytest.mark.parametrize(
    "url_name",
    ["web:home", "regions:browse", "regions:search", "accounts:login", "accounts:signup"],
)
def test_pages_render_in_each_language(tree, language, expected, url_name):
    response = _in_language(language).get(reverse(url_name))
    assert response.status_code == 200
    html = response.content.decode()
    assert expected in html
    assert f'<html lang="{language}">' in html


def test_chinese_is_the_default_language(db):
    html = Client().get("/").content.decode()
    assert '<html lang="zh-hans">' in html
    assert "首页" in html and "行政区划" in html


@pytest.mark.parametrize(
    ("language", "title"),
    [("zh-hans", "中国行政区划"), ("fr", "Régions de Chine"), ("en", "Regions of China")],
)
def test_switching_language_through_set_language(tree, language, title):
    client = Client(enforce_csrf_checks=False)
    response = client.post("/i18n/setlang/", {"language": language, "next": "/regions/"})
    assert response.status_code == 302 and response["Location"] == "/regions/"
    assert title in client.get("/regions/").content.decode()


def test_every_page_offers_the_language_switch_with_csrf(tree):
    html = Client().get(reverse("regions:detail", args=[tree.yiwu.code])).content.decode()
    form = re.search(r'<form class="langs".*?</form>', html, re.S).group(0)
    assert 'action="/i18n/setlang/"' in form and "csrfmiddlewaretoken" in form
    for code in ("zh-hans", "en", "fr"):
        assert f'value="{code}"' in form


def _nav_labels(client: Client) -> list[str]:
    html = client.get("/").content.decode()
    nav = re.search(r'<nav class="nav".*?</nav>', html, re.S).group(0)
    return re.findall(r">([^<>]+)</a>", nav)


def test_navigation_for_anonymous_visitors(db):
    client = _in_language("en")
    assert _nav_labels(client) == ["Home", "Regions", "Search", "Market", "Labels", "Cart"]
    html = client.get("/").content.decode()
    assert "Log in" in html and "Sign up" in html and "Log out" not in html


@pytest.mark.parametrize(
    ("role", "scope", "sees_households"),
    [
        (Role.BUYER, None, False),
        (Role.SELLER, None, False),
        (Role.LENDER, None, False),
        (Role.ENTERPRISE_REP, None, False),
        (Role.AGENT, "choujiang", True),
        (Role.OFFICER, "yiwu", True),
        (Role.PROGRAM_ADMIN, None, True),
    ],
)
def test_navigation_by_role(tree, user_with_role, client_for, role, scope, sees_households):
    user = user_with_role(role, getattr(tree, scope) if scope else None)
    client = client_for(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    labels = _nav_labels(client)
    assert labels[:5] == ["Home", "Regions", "Search", "Market", "Labels"]
    assert ("My villages" in labels) is sees_households
    assert "Administration" not in labels
    html = client.get("/").content.decode()
    assert "Log out" in html and str(Role(role).label) in html


def test_staff_see_administration(tree, user_with_role, client_for):
    user = user_with_role(Role.BUYER, is_staff=True)
    client = client_for(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "Administration" in _nav_labels(client)


def test_the_current_section_is_marked(tree):
    html = _in_language("en").get("/regions/search/").content.decode()
    assert re.search(r'<a href="/regions/search/" aria-current="page">Search</a>', html)
    assert html.count('aria-current="page"') == 1


def test_not_found_page_is_translated(db):
    response = _in_language("fr").get("/no-such-page/")
    assert response.status_code == 404
    assert "Page introuvable" in response.content.decode()


def test_server_error_page_renders_without_a_request():
    from django.template.loader import render_to_string
    from django.utils import translation

    with translation.override("zh-hans"):
        html = render_to_string("500.html")
    assert "服务器错误" in html


def test_application_errors_render_the_error_page(db):
    response = _in_language("en").get("/regions/999999999999/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "No division with code 999999999999" in html and "<h1>Not found</h1>" in html


def test_htmx_errors_go_to_the_messages_area(db):
    response = Client().get("/regions/abc/", headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#messages"
    assert 'role="alert"' in response.content.decode()


def test_htmx_is_configured_to_swap_error_responses(db):
    html = Client().get("/").content.decode()
    config = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'>', html).group(1)
    assert '{"code":"[45]..","swap":true,"error":true}' in config


def _page_weight(client: Client, url: str) -> tuple[int, dict[str, int]]:
    """Bytes of a page plus every local stylesheet and script it loads."""
    response = client.get(url)
    assert response.status_code == 200, url
    html = response.content.decode()
    sizes = {url: len(response.content)}
    for asset in re.findall(r'<(?:link[^>]+href|script[^>]+src)="(/static/[^"]+)"', html):
        asset_response = client.get(asset)
        assert asset_response.status_code == 200, asset
        sizes[asset] = len(b"".join(asset_response.streaming_content))
    for external in re.findall(r'(?:href|src)="(https?://[^"]+)"', html):
        pytest.fail(f"{url} loads {external}: assets come only from our static files")
    return sum(sizes.values()), sizes


def test_pages_stay_within_the_weight_budget(tree, user_with_role, client_for):
    officer = user_with_role(Role.OFFICER, tree.yiwu)
    client = client_for(officer)
    urls = [
        "/",
        "/regions/",
        f"/regions/{tree.yiwu.code}/",
        f"/regions/{tree.qianchang.code}/",
        "/regions/search/?q=村",
        "/regions/households/",
        f"/regions/{tree.qianchang.code}/households/",
        "/accounts/login/",
        "/accounts/signup/",
    ]
    for url in urls:
        total, sizes = _page_weight(client, url)
        assert "/static/vendor/htmx/htmx.min.js" in sizes
        assert total < PAGE_BUDGET_BYTES, f"{url}: {total} bytes {sizes}"

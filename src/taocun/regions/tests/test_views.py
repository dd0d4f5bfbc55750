"""The region pages: browse, drill down, search, households by scope."""

from itertools import pairwise

import pytest
from django.conf import settings
from django.test import Client

from taocun.accounts.models import Role
from taocun.core.models import AuditEntry
from taocun.regions import views
from taocun.regions.models import Division, Level
from taocun.regions.tests.factories import DivisionFactory, HouseholdFactory


@pytest.fixture
def english(db) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _en(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_browse_lists_provinces_with_child_counts(tree, english):
    html = english.get("/regions/").content.decode()
    assert '<a href="/regions/330000000000/">浙江省</a>' in html
    assert '<a href="/regions/370000000000/">山东省</a>' in html
    assert "province · 1 subdivision" in html


def test_drill_down_from_province_to_village(tree, english):
    path = [tree.zhejiang, tree.jinhua, tree.yiwu, tree.choujiang, tree.qianchang]
    for parent, child in pairwise(path):
        html = english.get(f"/regions/{parent.code}/").content.decode()
        assert f'<a href="/regions/{child.code}/">{child.name}</a>' in html
    html = english.get(f"/regions/{tree.qianchang.code}/").content.decode()
    crumbs = html.split('class="crumbs"', 1)[1].split("</nav>", 1)[0]
    assert [name for name in ("浙江省", "金华市", "义乌市", "稠江街道") if name in crumbs] == [
        "浙江省",
        "金华市",
        "义乌市",
        "稠江街道",
    ]


def test_county_page_shows_facts_children_and_village_count(tree, english):
    html = english.get(f"/regions/{tree.yiwu.code}/").content.decode()
    assert "<dt>Villages below</dt><dd>2</dd>" in html
    assert "2 subdivisions" in html
    assert "稠江街道" in html and "后宅街道" in html
    assert "<dt>Poverty designation</dt><dd>None</dd>" in html


def test_village_page_shows_its_facts(tree, english):
    html = english.get(f"/regions/{tree.qianchang.code}/").content.decode()
    assert "<dt>Level</dt><dd>Village</dd>" in html
    assert "<dt>Division code</dt><dd>330782003210</dd>" in html
    assert "<dt>Urban/rural code</dt><dd>220 — village</dd>" in html
    assert "<dt>Committee</dt><dd>Village committee (村委会)</dd>" in html
    assert "<dt>Households</dt><dd>1500</dd>" in html
    assert "<dt>Coordinates</dt><dd>29.2700, 120.0300</dd>" in html
    assert "invented for the demo" not in html


def test_residents_committee_is_named_as_such(tree, english):
    DivisionFactory(
        code="330782003001",
        name="稠江社区居委会",
        level=Level.VILLAGE,
        parent=tree.choujiang,
        ur_code="111",
    )
    html = english.get("/regions/330782003001/").content.decode()
    assert "Residents&#x27; committee (居委会)" in html
    assert "111 — main urban area" in html


def test_invented_figures_carry_a_visible_mark(tree, english):
    Division.objects.filter(pk=tree.caoxian.pk).update(poverty_exit_year=2020, demo_invented=True)
    html = english.get(f"/regions/{tree.caoxian.code}/").content.decode()
    assert "Provincial poverty county — out of poverty in 2020" in html
    assert 'class="badge badge-demo">invented for the demo</span>' in html
    zh = Client().get(f"/regions/{tree.caoxian.code}/").content.decode()
    assert "演示虚构数据" in zh and "省级贫困县" in zh


def test_village_page_is_translated(tree):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    html = client.get(f"/regions/{tree.qianchang.code}/").content.decode()
    assert "Comité villageois (村委会)" in html and "<dt>Foyers</dt>" in html


def test_long_lists_are_paginated(tree, english, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for number in range(3):
        DivisionFactory(
            code=f"330782003{220 + number:03d}",
            name=f"新村{number}",
            level=Level.VILLAGE,
            parent=tree.choujiang,
        )
    first = english.get(f"/regions/{tree.choujiang.code}/").content.decode()
    assert "Page 1 of 2" in first and "前仓村委会" in first and "新村2" not in first
    second = english.get(f"/regions/{tree.choujiang.code}/?page=2").content.decode()
    assert "新村2" in second and "前仓村委会" not in second
    assert english.get(f"/regions/{tree.choujiang.code}/?page=zz").status_code == 200


def test_unknown_and_malformed_codes(tree, english):
    assert english.get("/regions/110000000000/").status_code == 404
    response = english.get("/regions/12ab/")
    assert response.status_code == 400
    assert "is not a 12-digit division code" in response.content.decode()


def test_search_by_chinese_name(tree, english):
    html = english.get("/regions/search/", {"q": "义乌"}).content.decode()
    assert "1 place found" in html
    assert '<a href="/regions/330782000000/">义乌市</a>' in html
    html = english.get("/regions/search/", {"q": "村"}).content.decode()
    assert "3 places found" in html and html.index("前仓村委会") < html.index("丁楼村民委员会")
    assert (
        "No place has this name"
        in english.get("/regions/search/", {"q": "不存在"}).content.decode()
    )


def test_search_returns_a_fragment_to_htmx(tree, english):
    response = english.get("/regions/search/", {"q": "曹县"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and "曹县大集镇" in html
    assert '<div id="messages" hx-swap-oob="true"></div>' in html


def test_search_errors_are_shown(tree, english):
    response = english.get("/regions/search/", {"q": "村" * 51})
    assert response.status_code == 400
    assert "The search text is too long" in response.content.decode()
    response = english.get("/regions/search/", {"q": "村" * 51}, headers={"HX-Request": "true"})
    assert response["HX-Retarget"] == "#messages"


@pytest.fixture
def households(tree):
    return [HouseholdFactory(village=tree.qianchang) for _ in range(3)]


def test_anonymous_visitors_are_sent_to_log_in(tree, households, english):
    response = english.get(f"/regions/{tree.qianchang.code}/households/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_a_buyer_gets_403_and_the_refusal_is_audited(tree, households, user_with_role, client_for):
    buyer = user_with_role(Role.BUYER)
    response = _en(client_for(buyer)).get(f"/regions/{tree.qianchang.code}/households/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "You may not see the households of 前仓村委会." in html
    assert "<h1>Not allowed</h1>" in html
    entry = AuditEntry.objects.get(action="access.denied")
    assert (entry.actor, entry.object_id) == (buyer, tree.qianchang.code)


def test_an_officer_of_another_county_gets_403(tree, households, user_with_role, client_for):
    officer = user_with_role(Role.OFFICER, tree.caoxian)
    response = client_for(officer).get(f"/regions/{tree.qianchang.code}/households/")
    assert response.status_code == 403
    assert "您无权查看前仓村委会的农户。" in response.content.decode()


def test_the_county_officer_sees_the_households(tree, households, user_with_role, client_for):
    officer = user_with_role(Role.OFFICER, tree.yiwu)
    response = _en(client_for(officer)).get(f"/regions/{tree.qianchang.code}/households/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Households of 前仓村委会" in html
    for household in households:
        assert household.head_name in html
    assert not AuditEntry.objects.filter(action="access.denied").exists()


def test_village_page_links_to_households_for_household_roles_only(
    tree, user_with_role, client_for
):
    url = f"/regions/{tree.qianchang.code}/"
    link = f'href="/regions/{tree.qianchang.code}/households/"'
    assert link in client_for(user_with_role(Role.AGENT, tree.choujiang)).get(url).content.decode()
    assert link not in client_for(user_with_role(Role.BUYER)).get(url).content.decode()
    assert link not in Client().get(url).content.decode()


def test_my_villages_of_a_county_officer(tree, households, user_with_role, client_for):
    officer = user_with_role(Role.OFFICER, tree.yiwu)
    html = _en(client_for(officer)).get("/regions/households/").content.decode()
    assert "2 villages in your area" in html
    assert f'<a href="/regions/{tree.qianchang.code}/households/">前仓村委会</a>' in html
    assert "3 registered households" in html
    assert "李祖村委会" in html and "丁楼村民委员会" not in html


def test_my_villages_of_a_station_agent(tree, user_with_role, client_for):
    agent = user_with_role(Role.AGENT, tree.houzhai)
    html = _en(client_for(agent)).get("/regions/households/").content.decode()
    assert "1 village in your area" in html
    assert "李祖村委会" in html and "前仓村委会" not in html


def test_my_villages_of_program_staff(tree, user_with_role, client_for):
    html = _en(client_for(user_with_role(Role.PROGRAM_ADMIN))).get("/regions/households/").content
    assert b"You may see the households of every village." in html


def test_an_officer_without_a_county_yet_has_no_villages(db, user_with_role, client_for):
    html = _en(client_for(user_with_role(Role.OFFICER))).get("/regions/households/").content
    assert b"No villages are in your area." in html


@pytest.mark.parametrize("role", [Role.BUYER, Role.SELLER, Role.LENDER, Role.ENTERPRISE_REP])
def test_my_villages_is_refused_to_roles_without_registers(tree, user_with_role, client_for, role):
    user = user_with_role(role)
    response = _en(client_for(user)).get("/regions/households/", REMOTE_ADDR="198.51.100.4")
    assert response.status_code == 403
    assert "Only county officers, station agents and program staff" in response.content.decode()
    entry = AuditEntry.objects.get(action="access.denied")
    assert (entry.actor, entry.ip_address) == (user, "198.51.100.4")


def test_village_households_refusal_records_the_address(tree, user_with_role, client_for):
    client_for(user_with_role(Role.BUYER)).get(
        f"/regions/{tree.qianchang.code}/households/", REMOTE_ADDR="198.51.100.9"
    )
    assert AuditEntry.objects.get(action="access.denied").ip_address == "198.51.100.9"

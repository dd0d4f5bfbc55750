"""The regions API through the HTTP layer and the real database."""

import pytest
from django.test import Client

from taocun.accounts.models import Role
from taocun.accounts.services import api_token_create
from taocun.core.models import AuditEntry
from taocun.regions.tests.factories import HouseholdFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def anonymous() -> Client:
    return Client()


def test_provinces_with_children_counts(tree, anonymous):
    response = anonymous.get("/api/v1/regions")

    assert response.status_code == 200
    assert [(p["code"], p["name"], p["children_count"]) for p in response.json()] == [
        ("330000000000", "浙江省", 1),
        ("370000000000", "山东省", 1),
    ]


def test_detail_has_ancestors_children_and_village_count(tree, anonymous):
    response = anonymous.get("/api/v1/regions/330782000000")

    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["level"], body["parent_code"]) == (
        "义乌市",
        "county",
        "330700000000",
    )
    assert [a["name"] for a in body["ancestors"]] == ["浙江省", "金华市"]
    assert [(c["name"], c["children_count"]) for c in body["children"]] == [
        ("稠江街道", 1),
        ("后宅街道", 1),
    ]
    assert body["children_count"] == 2
    assert body["village_count"] == 2


def test_village_detail_says_what_kind_of_committee_it_is(tree, anonymous):
    body = anonymous.get("/api/v1/regions/330782003210").json()

    assert body["committee_kind"] == "village"
    assert body["is_rural"] is True
    assert body["households"] == 1500
    assert (body["lat"], body["lon"]) == (29.27, 120.03)
    assert body["children"] == [] and body["village_count"] == 0


def test_poverty_designation_invented_for_the_demo_is_marked(tree, anonymous):
    tree.caoxian.demo_invented = True
    tree.caoxian.save(update_fields=["demo_invented"])

    body = anonymous.get("/api/v1/regions/371721000000").json()
    listed = anonymous.get("/api/v1/regions/371700000000/children").json()

    assert (body["poverty"], body["demo_invented"]) == ("provincial", True)
    assert (listed[0]["poverty"], listed[0]["demo_invented"]) == ("provincial", True)


def test_children(tree, anonymous):
    response = anonymous.get("/api/v1/regions/330782003000/children")

    assert response.status_code == 200
    assert [(c["code"], c["children_count"]) for c in response.json()] == [("330782003210", 0)]


def test_reads_do_not_grow_with_the_number_of_children(
    tree, anonymous, django_assert_max_num_queries
):
    with django_assert_max_num_queries(1):
        anonymous.get("/api/v1/regions")
    with django_assert_max_num_queries(2):
        anonymous.get("/api/v1/regions/330782000000/children")
    with django_assert_max_num_queries(5):
        anonymous.get("/api/v1/regions/330782000000")


def test_unknown_code_is_404_naming_the_field(tree, anonymous):
    response = anonymous.get("/api/v1/regions/330782999999")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert response.json()["field"] == "code"


@pytest.mark.parametrize(
    "code", ["33078", "3307820000001", "33078200000x", "三三〇七八二〇〇〇〇〇〇", "%20", "-1"]
)
def test_a_code_that_is_not_12_digits_is_400_naming_the_field(
    tree, user_with_role, client_for, code
):
    client = client_for(user_with_role(Role.OFFICER, tree.yiwu))
    for suffix in ("", "/children", "/households"):
        response = client.get(f"/api/v1/regions/{code}{suffix}")

        assert response.status_code == 400, (code, suffix)
        assert response.json()["code"] == "invalid"
        assert response.json()["field"] == "code"


def test_search_puts_coarse_levels_first(tree, anonymous):
    response = anonymous.get("/api/v1/regions/search", {"q": "曹县"})

    assert response.status_code == 200
    assert [(r["name"], r["level"], r["parent_name"]) for r in response.json()] == [
        ("曹县", "county", "菏泽市"),
        ("曹县大集镇", "township", "曹县"),
    ]


def test_search_by_level_and_limit(tree, anonymous):
    villages = anonymous.get("/api/v1/regions/search", {"q": "村", "level": "village"}).json()
    one = anonymous.get("/api/v1/regions/search", {"q": "村", "limit": 1}).json()

    assert {v["level"] for v in villages} == {"village"} and len(villages) == 3
    assert len(one) == 1


def test_search_by_code(tree, anonymous):
    found = anonymous.get("/api/v1/regions/search", {"q": "371721121227"}).json()

    assert [r["name"] for r in found] == ["丁楼村民委员会"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "村" * 51}, "q"),
        ({"q": "村", "level": "galaxy"}, "level"),
        ({"q": "村", "limit": "ten"}, "limit"),
        ({"q": "村", "limit": 0}, "limit"),
        ({"q": "村", "limit": 101}, "limit"),
        ({"q": "村", "limit": "9" * 40}, "limit"),
    ],
)
def test_bad_search_parameters_are_400_naming_the_field(tree, anonymous, params, field):
    response = anonymous.get("/api/v1/regions/search", params)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response.json()["field"] == field


# --- households: who may see them --------------------------------------------------------


def _households_url(village) -> str:
    return f"/api/v1/regions/{village.code}/households"


@pytest.fixture
def households(tree):
    return [HouseholdFactory(village=tree.qianchang) for _ in range(3)]


def test_households_need_a_login(tree, households, anonymous):
    response = anonymous.get(_households_url(tree.qianchang))

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_buyer_is_refused_and_the_refusal_is_audited(
    tree, households, user_with_role, client_for
):
    buyer = user_with_role(Role.BUYER)

    response = client_for(buyer).get(_households_url(tree.qianchang))

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    entry = AuditEntry.objects.get(action="access.denied")
    assert (entry.actor, entry.object_id) == (buyer, tree.qianchang.code)


def test_an_officer_of_another_county_is_refused(tree, households, user_with_role, client_for):
    officer = user_with_role(Role.OFFICER, tree.caoxian)

    response = client_for(officer).get(_households_url(tree.qianchang))

    assert response.status_code == 403
    assert AuditEntry.objects.filter(action="access.denied", actor=officer).exists()


def test_the_officer_of_the_county_sees_the_households(
    tree, households, user_with_role, client_for
):
    officer = user_with_role(Role.OFFICER, tree.yiwu)

    response = client_for(officer).get(_households_url(tree.qianchang))

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [h["id"] for h in body["items"]] == [h.pk for h in households]
    assert set(body["items"][0]) >= {"head_name", "members", "members_away", "registered_poor"}


def test_station_agents_see_only_the_area_they_serve(tree, households, user_with_role, client_for):
    agent = client_for(user_with_role(Role.AGENT, tree.choujiang))

    assert agent.get(_households_url(tree.qianchang)).status_code == 200
    assert agent.get(_households_url(tree.lizu)).status_code == 403


def test_program_admins_see_every_village(tree, households, user_with_role, client_for):
    admin = client_for(user_with_role(Role.PROGRAM_ADMIN))

    assert admin.get(_households_url(tree.dinglou)).json() == {"items": [], "count": 0}


def test_households_with_a_bearer_token(tree, households, user_with_role, anonymous):
    _, raw = api_token_create(user=user_with_role(Role.OFFICER, tree.yiwu))

    response = anonymous.get(_households_url(tree.qianchang), HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert response.status_code == 200
    assert response.json()["count"] == 3


def test_households_are_paginated(tree, households, user_with_role, client_for):
    officer = client_for(user_with_role(Role.OFFICER, tree.yiwu))

    page = officer.get(_households_url(tree.qianchang), {"limit": 2, "offset": 2}).json()
    bad = officer.get(_households_url(tree.qianchang), {"limit": -1})

    assert (page["count"], [h["id"] for h in page["items"]]) == (3, [households[2].pk])
    assert (bad.status_code, bad.json()["field"]) == (400, "limit")


def test_households_of_an_unknown_village_is_404(tree, user_with_role, client_for):
    officer = client_for(user_with_role(Role.OFFICER, tree.yiwu))

    assert officer.get("/api/v1/regions/330782003299/households").status_code == 404


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "99999999999999999999"}, "limit"),
        ({"limit": "9223372036854775808"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"offset": "99999999999999999999"}, "offset"),
        ({"offset": "9223372036854775808"}, "offset"),
        ({"offset": "1000000001"}, "offset"),
    ],
)
def test_out_of_range_pagination_is_a_400_naming_the_field(
    tree, households, user_with_role, client_for, params, field
):
    officer = client_for(user_with_role(Role.OFFICER, tree.yiwu))

    response = officer.get(_households_url(tree.qianchang), params)

    assert response.status_code == 400
    assert (response.json()["code"], response.json()["field"]) == ("invalid", field)


def test_the_largest_allowed_page_and_offset_work(tree, households, user_with_role, client_for):
    officer = client_for(user_with_role(Role.OFFICER, tree.yiwu))

    response = officer.get(_households_url(tree.qianchang), {"limit": 500, "offset": 1_000_000_000})

    assert response.status_code == 200
    assert response.json() == {"items": [], "count": 3}


def test_a_refusal_records_the_callers_address(tree, households, user_with_role, client_for):
    buyer = user_with_role(Role.BUYER)

    client_for(buyer).get(_households_url(tree.qianchang), REMOTE_ADDR="203.0.113.7")

    assert AuditEntry.objects.get(action="access.denied").ip_address == "203.0.113.7"


@pytest.mark.parametrize(
    ("params", "language", "field", "message"),
    [
        ({"q": "村" * 51}, "en", "q", "At most 50 characters."),
        ({"q": "村" * 51}, "zh-hans", "q", "最多 50 个字符。"),
        ({"q": "村" * 51}, "fr", "q", "50 caractères au plus."),
        ({"q": "村", "limit": "abc"}, "fr", "limit", "Nombre entier attendu."),
        ({"q": "村", "limit": "2.5"}, "zh-hans", "limit", "应为整数。"),
        ({"q": "村", "limit": "101"}, "zh-hans", "limit", "不得大于 100。"),
        ({"q": "村", "limit": "0"}, "fr", "limit", "Doit valoir 1 ou plus."),
        ({"q": "村", "level": "hamlet"}, "zh-hans", "level", "应为以下之一："),
        ({}, "zh-hans", "q", "此项必填。"),
        ({"q": "村\x00"}, "en", "q", "must not contain NUL characters"),
        ({"q": "村\x00"}, "zh-hans", "q", "不得包含 NUL 字符"),
    ],
)
def test_validation_messages_speak_the_users_language(
    tree, anonymous, params, language, field, message
):
    response = anonymous.get("/api/v1/regions/search", params, HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["field"]) == ("invalid", field)
    assert body["message"].startswith(message)


def test_an_out_of_range_page_is_explained(tree, households, user_with_role, client_for):
    officer = client_for(user_with_role(Role.OFFICER, tree.yiwu))

    body = officer.get(
        _households_url(tree.qianchang),
        {"limit": "99999999999999999999"},
        HTTP_ACCEPT_LANGUAGE="en",
    ).json()

    assert body["message"] == "Must be 500 or less."

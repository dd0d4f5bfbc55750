"""The station agent's parcels: the page and the API list the orders of the shops in the
villages the agent's grants cover, filter by status and search; "mark delivered" goes
through the order's access check and service; everyone else is refused and audited."""

import json
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from taocun.accounts.models import Role
from taocun.core.models import AuditEntry
from taocun.market.tests import factories as market
from taocun.orders import services, views
from taocun.orders.models import Order, OrderEvent
from taocun.orders.models import OrderStatus as S
from taocun.orders.tests import factories
from taocun.web.tests.test_pages import PAGE_BUDGET_BYTES, _page_weight

PAGE = "/orders/parcels/"
API = "/api/v1/orders/parcels"


def english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def station(tree, run_on_commit):
    """Two villages of Yiwu (义乌) and one of Cao county (曹县), a shop in each; an agent
    of 稠江街道 (serving 前仓), one of 曹县大集镇 and a buyer; ``ship`` makes a shipped
    order of a shop for the buyer."""
    shops = {}
    for key, village, name in (
        ("qianchang", tree.qianchang, "前仓果园"),
        ("lizu", tree.lizu, "李祖果业"),
        ("dinglou", tree.dinglou, "丁楼演出服"),
    ):
        keeper = market.seller(village)
        shop = market.shop(village, name=name, keeper=keeper)
        product = market.product(shop, name=f"{name}的货", stock=500)
        shops[key] = (keeper, shop, product.variants.get())
    buyer = factories.buyer(display_name="赵小满")
    factories.address(buyer, recipient="赵小满", phone="13912345678")

    def ship(key: str, tracking: str) -> Order:
        keeper, _shop, variant = shops[key]
        checkout = factories.place(buyer, (variant, 1))
        run_on_commit(factories.pay, checkout)
        order = checkout.orders.get()
        return services.order_ship(
            order=order, actor=keeper, carrier="中通", tracking_number=tracking
        )

    return {
        "shops": shops,
        "buyer": buyer,
        "agent": market.reviewer(Role.AGENT, tree.choujiang),
        "cao_agent": market.reviewer(Role.AGENT, tree.daji),
        "ship": ship,
    }


def _listed(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'href="/orders/(\d+)/"', html)]


# --- who may look -----------------------------------------------------------------------


def test_the_agent_sees_only_the_parcels_of_the_villages_their_grant_covers(station, client_for):
    ship = station["ship"]
    here = ship("qianchang", "ZT100")
    ship("lizu", "ZT200")  # Yiwu, but another township: not the agent's station
    there = ship("dinglou", "ZT300")

    response = english(client_for(station["agent"])).get(PAGE)

    assert response.status_code == 200
    html = response.content.decode()
    assert _listed(html) == [here.pk]
    assert "前仓果园" in html and "前仓村委会" in html and "ZT100" in html
    assert "赵小满" in html and "5678" in html and "13912345678" not in html
    assert "Mark delivered" in html
    assert _listed(client_for(station["cao_agent"]).get(PAGE).content.decode()) == [there.pk]


def test_program_staff_see_every_village(station, client_for, user_with_role):
    orders = [station["ship"](key, f"T{key}") for key in ("qianchang", "lizu", "dinglou")]
    admin = user_with_role(Role.PROGRAM_ADMIN)
    html = client_for(admin).get(PAGE).content.decode()
    assert sorted(_listed(html)) == sorted(order.pk for order in orders)


@pytest.mark.parametrize("who", ["buyer", "seller"])
def test_buyers_and_sellers_are_refused_and_audited(station, client_for, who):
    user = station["buyer"] if who == "buyer" else station["shops"]["qianchang"][0]
    response = english(client_for(user)).get(PAGE)
    assert response.status_code == 403
    assert "Only station agents" in response.content.decode()
    entry = AuditEntry.objects.get(action="access.denied", actor=user)
    assert entry.after == {"what": "station parcels"}
    api = client_for(user).get(API)
    assert api.status_code == 403 and api.json()["code"] == "forbidden"
    assert AuditEntry.objects.filter(action="access.denied", actor=user).count() == 2


def test_an_agent_without_an_area_yet_sees_nothing(station, client_for, user_with_role):
    station["ship"]("qianchang", "ZT100")
    newcomer = user_with_role(Role.AGENT)  # the role, no region granted yet
    assert _listed(client_for(newcomer).get(PAGE).content.decode()) == []
    assert client_for(newcomer).get(API).json()["count"] == 0


def test_visitors_are_sent_to_log_in(db):
    response = Client().get(PAGE)
    assert response.status_code == 302 and "/login" in response["Location"]
    assert Client().get(API).status_code == 401


def test_an_agent_of_another_county_may_not_mark_a_parcel_delivered(station, client_for):
    order = station["ship"]("qianchang", "ZT100")
    cao = english(client_for(station["cao_agent"]))

    response = cao.post(f"/orders/parcels/{order.pk}/deliver/", {"next": PAGE})

    assert response.status_code == 403
    entry = AuditEntry.objects.get(action="access.denied", object_id=str(order.pk))
    assert entry.actor == station["cao_agent"] and entry.after == {"what": "order deliver"}
    order.refresh_from_db()
    assert order.status == S.SHIPPED and order.delivered_at is None
    assert cao.get(f"/orders/{order.pk}/").status_code == 403
    assert cao.post(f"/api/v1/orders/{order.pk}/deliver").status_code == 403


def test_the_buyer_may_not_mark_their_own_parcel_delivered(station, client_for):
    order = station["ship"]("qianchang", "ZT100")
    response = client_for(station["buyer"]).post(f"/orders/parcels/{order.pk}/deliver/")
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == S.SHIPPED


# --- mark delivered ---------------------------------------------------------------------


def test_mark_delivered_from_the_page_moves_the_order_and_writes_its_event(station, client_for):
    order = station["ship"]("qianchang", "ZT100")
    agent = station["agent"]
    client = english(client_for(agent))
    back = f"{PAGE}?status=shipped&q=ZT100"

    response = client.post(f"/orders/parcels/{order.pk}/deliver/", {"next": back})

    assert response.status_code == 302 and response["Location"] == back
    order.refresh_from_db()
    assert order.status == S.DELIVERED and order.delivered_at is not None
    assert order.auto_complete_at == order.delivered_at + timedelta(
        days=services.auto_confirm_days()
    )
    event = OrderEvent.objects.filter(order=order).order_by("id").last()
    assert (event.action, event.from_status, event.to_status) == ("deliver", "shipped", "delivered")
    assert event.actor == agent
    assert AuditEntry.objects.filter(action="order.deliver", actor=agent).count() == 1
    html = client.get(back).content.decode()
    assert f"Order {order.pk} is marked delivered." in html
    assert _listed(html) == []  # no longer waiting
    delivered = client.get(f"{PAGE}?status=delivered").content.decode()
    assert _listed(delivered) == [order.pk] and "Mark delivered" not in delivered


def test_a_parcel_marked_twice_says_so_and_stays_delivered(station, client_for):
    order = station["ship"]("qianchang", "ZT100")
    client = english(client_for(station["agent"]))
    client.post(f"/orders/parcels/{order.pk}/deliver/")

    again = client.post(f"/orders/parcels/{order.pk}/deliver/")

    assert again.status_code == 302 and again["Location"] == PAGE
    html = client.get(PAGE).content.decode()
    assert f"Order {order.pk} is delivered: " in html and "is not possible now" in html
    assert OrderEvent.objects.filter(order=order, action="deliver").count() == 1


def test_the_next_address_must_be_local(station, client_for):
    order = station["ship"]("qianchang", "ZT100")
    response = client_for(station["agent"]).post(
        f"/orders/parcels/{order.pk}/deliver/", {"next": "https://evil.example/"}
    )
    assert response["Location"] == PAGE


# --- filters, search, pages ---------------------------------------------------------------


def test_the_tabs_show_recent_deliveries_and_completions(station, client_for):
    ship, agent = station["ship"], station["agent"]
    waiting = ship("qianchang", "ZT1")
    lately = services.order_deliver(order=ship("qianchang", "ZT2"), actor=agent)
    long_ago = services.order_deliver(
        order=ship("qianchang", "ZT3"), actor=agent, now=timezone.now() - timedelta(days=40)
    )
    done = services.order_confirm(
        order=services.order_deliver(order=ship("qianchang", "ZT4"), actor=agent),
        actor=station["buyer"],
    )
    client = english(client_for(agent))

    assert _listed(client.get(PAGE).content.decode()) == [waiting.pk]
    delivered = client.get(f"{PAGE}?status=delivered").content.decode()
    assert _listed(delivered) == [lately.pk] and long_ago.pk not in _listed(delivered)
    assert "In the last 30 days." in delivered
    assert _listed(client.get(f"{PAGE}?status=completed").content.decode()) == [done.pk]
    tabs = re.findall(r'<a href="\?status=(\w+)"[^>]*>[^<]*\((\d+)\)</a>', delivered)
    assert tabs == [("shipped", "1"), ("delivered", "1"), ("completed", "1")]
    bad = client.get(f"{PAGE}?status=cancelled")
    assert bad.status_code == 400 and "cancelled is not one of" in bad.content.decode()


def test_search_by_order_number_phone_tail_or_tracking_number(station, client_for):
    ship = station["ship"]
    first = ship("qianchang", "YT88001234")
    second = ship("qianchang", "SF77005555")
    client = client_for(station["agent"])

    def found(q: str) -> list[int]:
        return sorted(_listed(client.get(PAGE, {"q": q}).content.decode()))

    assert found(str(first.pk)) == [first.pk]
    assert found("sf77005555") == [second.pk]  # any case
    assert found("8800") == [first.pk]  # part of a tracking number
    assert found("5678") == [first.pk, second.pk]  # the recipient's phone ends with it
    assert found(" 5678 ") == [first.pk, second.pk]
    assert found("0000") == []
    assert found("9" * 30) == []  # no order id that large, no error either
    too_long = client.get(PAGE, {"q": "x" * 41})
    assert too_long.status_code == 400


def test_long_lists_come_in_pages(station, client_for, monkeypatch):
    monkeypatch.setattr(views, "PARCELS_PAGE_SIZE", 2)
    orders = [station["ship"]("qianchang", f"ZT{i}") for i in range(3)]
    client = english(client_for(station["agent"]))
    first = client.get(PAGE).content.decode()
    assert _listed(first) == [orders[0].pk, orders[1].pk]  # oldest shipped first
    assert "Page 1 of 2" in first and 'href="?page=2&amp;status=shipped&amp;q="' in first
    assert _listed(client.get(f"{PAGE}?page=2").content.decode()) == [orders[2].pk]


def test_the_page_reads_a_constant_number_of_queries(
    station, client_for, django_assert_max_num_queries
):
    client = client_for(station["agent"])
    station["ship"]("qianchang", "ZT0")
    with django_assert_max_num_queries(12) as one:
        client.get(PAGE)
    for i in range(1, 6):
        station["ship"]("qianchang", f"ZT{i}")
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert len(_listed(client.get(PAGE).content.decode())) == 6


def test_navigation_shows_parcels_to_agents_only(station, client_for):
    def labels(user):
        html = english(client_for(user)).get("/").content.decode()
        nav = re.search(r'<nav class="nav".*?</nav>', html, re.S).group(0)
        return re.findall(r">([^<>]+)</a>", nav)

    assert "Parcels" in labels(station["agent"])
    assert "Parcels" not in labels(station["buyer"])
    assert "Parcels" not in labels(station["shops"]["qianchang"][0])


def test_the_page_speaks_chinese_by_default(station, client_for):
    station["ship"]("qianchang", "ZT100")
    html = client_for(station["agent"]).get(PAGE).content.decode()
    assert "标记已送达" in html and "待交付" in html


# --- the API ------------------------------------------------------------------------------


def test_the_api_lists_the_same_parcels(station, client_for):
    ship = station["ship"]
    here = ship("qianchang", "ZT100")
    ship("dinglou", "ZT300")
    client = client_for(station["agent"])

    body = client.get(API).json()

    assert body["count"] == 1
    (parcel,) = body["items"]
    assert parcel["id"] == here.pk and parcel["status"] == "shipped"
    assert parcel["shop_name"] == "前仓果园"
    assert (parcel["village_code"], parcel["village_name"]) == ("330782003210", "前仓村委会")
    assert (parcel["buyer_name"], parcel["recipient"], parcel["phone_tail"]) == (
        "赵小满",
        "赵小满",
        "5678",
    )
    assert (parcel["carrier"], parcel["tracking_number"]) == ("中通", "ZT100")
    assert parcel["total_fen"] == here.total_fen and parcel["shipped_at"]
    assert client.get(API, {"q": "ZT300"}).json()["count"] == 0  # another county's

    delivered = client.post(f"/api/v1/orders/{here.pk}/deliver")
    assert delivered.status_code == 200 and delivered.json()["status"] == "delivered"
    assert client.get(API).json()["count"] == 0
    assert [p["id"] for p in client.get(API, {"status": "delivered"}).json()["items"]] == [here.pk]


def test_the_api_paginates_and_names_bad_parameters(station, client_for):
    orders = [station["ship"]("qianchang", f"ZT{i}") for i in range(3)]
    client = client_for(station["agent"])
    page = client.get(API, {"limit": 2, "offset": 2}).json()
    assert page["count"] == 3 and [p["id"] for p in page["items"]] == [orders[2].pk]
    for params, field in (
        ({"status": "cancelled"}, "status"),
        ({"q": "x" * 41}, "q"),
        ({"limit": 501}, "limit"),
    ):
        response = client.get(API, params)
        assert response.status_code == 400, params
        assert response.json()["field"] == field
    nul = client.get(API, {"q": "ZT\x00"})
    assert nul.status_code == 400 and nul.json()["field"] == "q"


def test_the_api_is_documented(db):
    schema = json.loads(Client().get("/api/v1/openapi.json").content)
    assert "/api/v1/orders/parcels" in schema["paths"]


def test_a_full_page_of_parcels_stays_within_the_weight_budget(station, client_for):
    """A full page (``PARCELS_PAGE_SIZE`` rows, each with its form) plus the CSS and
    htmx it loads, against the site's 100 KB budget (docs/web.md)."""
    for i in range(views.PARCELS_PAGE_SIZE + 1):
        station["ship"]("qianchang", f"ZTO{i:010d}")
    client = client_for(station["agent"])
    html = client.get(PAGE).content.decode()
    assert len(_listed(html)) == views.PARCELS_PAGE_SIZE

    total, sizes = _page_weight(client, PAGE)

    assert total < PAGE_BUDGET_BYTES, f"{total} bytes: {sizes}"

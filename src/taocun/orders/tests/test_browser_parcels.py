"""A station agent on a 360-px phone, in headless Chromium against the live server: logs
in, opens "包裹" from the navigation, finds a shipped parcel by the recipient's phone tail
and marks it delivered; the order is delivered, with its event.

The world (villages, two shops, a paid and shipped order in each) is made through the
services; the agent's part goes through the pages only. Uses the launch settings, the
skip/require rule (TAOCUN_REQUIRE_BROWSER=1) and the phone viewport of
``web/tests/test_browser.py``.
"""

import pytest

from taocun.accounts.models import Role
from taocun.accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from taocun.market.tests import factories as market
from taocun.orders import services
from taocun.orders.models import OrderEvent
from taocun.orders.models import OrderStatus as S
from taocun.orders.tests import factories
from taocun.web.tests.test_browser import PHONE, SCREENSHOT_DIR, browser, page  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _shipped(village, *, shop_name: str, tracking: str, buyer, run_on_commit):
    keeper = market.seller(village)
    shop = market.shop(village, name=shop_name, keeper=keeper)
    variant = market.product(shop, name=f"{shop_name}的苹果").variants.get()
    checkout = factories.place(buyer, (variant, 1))
    run_on_commit(factories.pay, checkout)
    order = checkout.orders.get()
    return services.order_ship(order=order, actor=keeper, carrier="中通", tracking_number=tracking)


# The shared ``page`` fixture waits 10 s for an element; these pages were given 15 s.
BROWSER_TIMEOUT_MS = 15_000


def test_an_agent_finds_a_shipped_parcel_and_marks_it_delivered(page, tree, run_on_commit):  # noqa: F811
    factories.categories_seed()
    buyer = factories.buyer(display_name="赵小满")
    factories.address(buyer, recipient="赵小满", phone="13912345678")
    other = factories.buyer()
    factories.address(other, recipient="钱多多", phone="13700001111")
    mine = _shipped(
        tree.qianchang,
        shop_name="前仓果园",
        tracking="ZT7001",
        buyer=buyer,
        run_on_commit=run_on_commit,
    )
    neighbour = _shipped(
        tree.qianchang,
        shop_name="前仓蜂场",
        tracking="ZT7002",
        buyer=other,
        run_on_commit=run_on_commit,
    )
    elsewhere = _shipped(
        tree.dinglou,
        shop_name="丁楼演出服",
        tracking="ZT9009",
        buyer=buyer,
        run_on_commit=run_on_commit,
    )
    agent = UserFactory(
        phone="+8613900000055",
        display_name="稠江站小周",
        roles=[(Role.AGENT, tree.choujiang)],
        password=DEFAULT_PASSWORD,
    )

    # Log in as people do.
    page.goto(page.base_url + "/")
    page.get_by_role("link", name="登录").first.click()
    page.wait_for_url("**/accounts/login/**")
    page.get_by_label("手机号码").fill("13900000055")
    page.get_by_label("密码").fill(DEFAULT_PASSWORD)
    page.locator("form.form button[type=submit]").click()
    page.wait_for_url(page.base_url + "/")

    # The navigation leads to the parcels of the agent's villages: two waiting, none of
    # the other county's.
    with page.expect_navigation(url="**/orders/parcels/"):
        page.get_by_role("link", name="包裹", exact=True).click()
    assert page.get_by_role("heading", level=1).inner_text() == "我所辖村的包裹"
    assert page.get_by_role("link", name="待交付 (2)").is_visible()
    assert page.get_by_text("ZT7001").is_visible() and page.get_by_text("ZT7002").is_visible()
    assert page.get_by_text("ZT9009").count() == 0
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the parcels page scrolls sideways: {width}px wide"

    # The recipient shows the phone's last four digits: search by them.
    page.get_by_role("searchbox").fill("5678")
    with page.expect_navigation(url="**/orders/parcels/?status=shipped&q=5678"):
        page.get_by_role("button", name="搜索").click()
    rows = page.locator("ul.list > li")
    assert rows.count() == 1
    assert "前仓果园" in rows.first.inner_text() and "赵小满" in rows.first.inner_text()
    page.screenshot(path=str(SCREENSHOT_DIR / "taocun-parcels-360.png"), full_page=True)

    with page.expect_navigation(url="**/orders/parcels/?status=shipped&q=5678"):
        rows.first.get_by_role("button", name="标记已送达").click()
    assert page.get_by_role("status").get_by_text(f"订单 {mine.pk} 已标记为送达。").is_visible()
    assert page.get_by_text("没有待交付的包裹。").is_visible()

    mine.refresh_from_db()
    assert mine.status == S.DELIVERED and mine.delivered_at is not None
    event = OrderEvent.objects.filter(order=mine).order_by("id").last()
    assert (event.action, event.to_status, event.actor_id) == ("deliver", S.DELIVERED, agent.pk)
    neighbour.refresh_from_db()
    elsewhere.refresh_from_db()
    assert neighbour.status == S.SHIPPED and elsewhere.status == S.SHIPPED

    # The delivered tab lists it now.
    with page.expect_navigation(url="**/orders/parcels/?status=delivered*"):
        page.get_by_role("link", name="近期已送达 (1)").click()
    assert page.get_by_text("ZT7001").is_visible()

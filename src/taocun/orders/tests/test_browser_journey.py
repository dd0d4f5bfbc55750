"""The marketplace journey in headless Chromium, over real HTTP against Django's live server:
a buyer searches in Chinese, buys from two village shops in one checkout, pays on the
sandbox pay page, the sellers ship and mark delivered from their order desk, the buyer
confirms receipt and reviews, and the label engine's next evaluation (requested on the
labels page by a county officer, run by the background worker) counts the two sales in
the two villages.

Only the world is made through services (the place tree, two verified shops in two
villages with their products, the accounts); everything people do goes through the pages.
Uses the launch settings, the skip/require rule (TAOCUN_REQUIRE_BROWSER=1) and the phone
viewport of ``web/tests/test_browser.py``.
"""

import importlib
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.core.management import call_command

from taocun.accounts.models import Role
from taocun.accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from taocun.core.money import Money
from taocun.labels.models import Evaluation, EvaluationStatus, VillageResult
from taocun.market import services as market_services
from taocun.market.models import Category
from taocun.market.tests import factories as market
from taocun.orders.models import Order
from taocun.orders.models import OrderStatus as S
from taocun.reviews.models import Review
from taocun.sales.models import SalesOrder
from taocun.web.tests.test_browser import PHONE, SCREENSHOT_DIR, browser  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHINA = ZoneInfo("Asia/Shanghai")
# Counts every platform (the marketplace's own included) over the 12 months to the cut-off.
RULES = "aliresearch-2016"


def _seed_categories() -> None:
    """A transactional test starts from a flushed database: put back the categories that
    migration 0002 seeds (names in three languages, which search reads)."""
    if not Category.objects.filter(slug="apples").exists():
        importlib.import_module("taocun.market.migrations.0002_seed_categories").seed(apps, None)


@pytest.fixture
def person(browser, live_server):  # noqa: F811
    """A new browser (its own cookies) on a 360-px phone, for each person of the story."""
    contexts = []

    def open_for(phone: str | None = None):
        context = browser.new_context(viewport=PHONE, device_scale_factor=1, locale="zh-CN")
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.base_url = live_server.url
        if phone:
            _log_in(page, phone)
        return page

    yield open_for
    for context in contexts:
        context.close()


def _log_in(page, phone: str) -> None:
    """The site's login page, with the national number as people type it."""
    page.goto(page.base_url + "/")
    page.get_by_role("link", name="登录").first.click()
    page.wait_for_url("**/accounts/login/**")
    page.get_by_label("手机号码").fill(phone.removeprefix("+86"))
    page.get_by_label("密码").fill(DEFAULT_PASSWORD)
    page.locator("form.form button[type=submit]").click()
    page.wait_for_url(page.base_url + "/")


def _assert_fits_the_phone(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} scrolls sideways: {width}px wide"


def _click_and_wait(page, locator, url_glob: str) -> None:
    with page.expect_navigation(url=url_glob):
        locator.click()


@pytest.fixture
def world(tree):
    _seed_categories()
    seller_a = market.seller(
        tree.qianchang, phone="+8613900000011", display_name="前仓王", password=DEFAULT_PASSWORD
    )
    seller_b = market.seller(
        tree.lizu, phone="+8613900000022", display_name="李祖陈", password=DEFAULT_PASSWORD
    )
    shop_a = market.shop(tree.qianchang, name="前仓果园", keeper=seller_a)
    shop_b = market.shop(tree.lizu, name="李祖果业", keeper=seller_b)
    # Shop B charges a flat ¥8.00 per order: the counted amount includes shipping.
    market_services.shop_shipping_set(actor=seller_b, shop=shop_b, mode="flat", flat_fen=800)
    apple_a = market.product(shop_a, name="前仓红富士苹果", price_fen=3990, stock=10)
    apple_b = market.product(shop_b, name="李祖冰糖心苹果", price_fen=5800, stock=5)
    honey = market.product(shop_a, name="前仓土蜂蜜", category="honey", price_fen=6800)
    buyer = UserFactory(phone="+8613900000033", display_name="赵小满", roles=[(Role.BUYER, None)])
    officer = UserFactory(
        phone="+8613900000044", display_name="义乌刘科长", roles=[(Role.OFFICER, tree.yiwu)]
    )
    return {
        "tree": tree,
        "sellers": (seller_a, seller_b),
        "shops": (shop_a, shop_b),
        "apples": (apple_a, apple_b),
        "honey": honey,
        "buyer": buyer,
        "officer": officer,
    }


def _buy(page, world) -> list[int]:
    """Search, add from both shops, check out with a new address, pay. Returns order ids."""
    apple_a, apple_b = world["apples"]

    # Search in Chinese from the market's home page.
    page.goto(page.base_url + "/market/")
    page.get_by_role("searchbox", name="搜索商品").fill("苹果")
    _click_and_wait(
        page, page.get_by_role("button", name="搜索", exact=True), "**/market/search/**"
    )
    results = page.locator("ul.cards")
    assert results.get_by_role("link", name=re.compile(apple_a.name)).is_visible()
    assert results.get_by_role("link", name=re.compile(apple_b.name)).is_visible()
    assert results.get_by_role("link", name=re.compile(world["honey"].name)).count() == 0
    results_url = page.url

    # Two of shop A's apples, one of shop B's.
    for product, quantity in ((apple_a, 2), (apple_b, 1)):
        page.goto(results_url)
        _click_and_wait(
            page,
            page.locator("ul.cards").get_by_role("link", name=re.compile(product.name)),
            f"**/market/p/{product.pk}/",
        )
        assert page.get_by_role("heading", level=1, name=product.name).is_visible()
        page.get_by_label("规格").select_option(str(product.variants.get().pk))
        page.get_by_label("数量").fill(str(quantity))
        _click_and_wait(page, page.get_by_role("button", name="加入购物车"), "**/orders/cart/")

    # The cart groups the lines by shop; one checkout for both.
    for shop in world["shops"]:
        assert page.get_by_role("heading", level=2, name=shop.name).is_visible()
    _click_and_wait(page, page.get_by_role("link", name="去结算"), "**/orders/checkout/")

    # A new buyer has no address yet: add one on the checkout page.
    page.get_by_label("收货人").fill("赵小满")
    page.get_by_label("手机号码", exact=True).fill("139 0000 0033")
    page.get_by_label("省份", exact=True).fill("北京市")
    page.get_by_label("市", exact=True).fill("北京市")
    page.get_by_label("区县").fill("海淀区")
    page.get_by_label("详细地址").fill("中关村大街 27 号")
    page.get_by_label("设为默认地址").check()
    _click_and_wait(page, page.get_by_role("button", name="保存地址"), "**/orders/checkout/")
    address = page.get_by_role("radio", name=re.compile("中关村大街 27 号"))
    assert address.is_checked()

    # Goods ¥79.80 + ¥0 shipping, and ¥58.00 + ¥8.00 shipping: ¥145.80 in all.
    total = Money(2 * 3990 + 5800 + 800)
    assert total.format() in page.locator("main").inner_text()
    _click_and_wait(
        page, page.get_by_role("button", name="提交订单并付款"), "**/payments/sandbox/pay/**"
    )

    # The sandbox provider's hosted pay page.
    assert page.get_by_role("heading", level=1, name=re.compile("沙箱支付")).is_visible()
    _click_and_wait(
        page,
        page.get_by_role("button", name=re.compile(r"^支付")),
        "**/orders/checkout/*/",
    )

    # Back on the shop's result page, paid.
    assert page.get_by_role("status").filter(has_text="已收到您的付款").is_visible()
    links = page.locator("main ul.list").get_by_role("link", name=re.compile(r"订单 \d+"))
    assert links.count() == 2
    return [int(re.search(r"\d+", links.nth(i).inner_text()).group()) for i in range(2)]


def _ship_and_deliver(page, order_id: int, tracking: str) -> None:
    """The seller's order desk on the phone: open the order, accept, ship, mark delivered."""
    _click_and_wait(page, page.get_by_role("link", name="待处理订单"), "**/orders/desk/")
    _assert_fits_the_phone(page)
    _click_and_wait(
        page,
        page.get_by_role("link", name=f"订单 {order_id}", exact=True),
        f"**/orders/desk/{order_id}/",
    )
    _assert_fits_the_phone(page)
    _click_and_wait(page, page.get_by_role("button", name="接单"), f"**/orders/desk/{order_id}/")
    page.get_by_label("快递公司").fill("顺丰速运")
    page.get_by_label("运单号").fill(tracking)
    _click_and_wait(
        page, page.get_by_role("button", name="标记已发货"), f"**/orders/desk/{order_id}/"
    )
    assert page.locator("dl.facts").get_by_text(f"顺丰速运 {tracking}", exact=True).is_visible()
    _click_and_wait(
        page, page.get_by_role("button", name="标记已送达"), f"**/orders/desk/{order_id}/"
    )
    assert page.get_by_role("heading", level=1).get_by_text("已送达").is_visible()
    _assert_fits_the_phone(page)
    page.screenshot(
        path=str(SCREENSHOT_DIR / f"taocun-order-desk-{order_id}-360.png"), full_page=True
    )


def _confirm_and_review(page, order_id: int, stars: int, text: str) -> None:
    page.goto(page.base_url + "/")
    _click_and_wait(page, page.get_by_role("link", name="我的订单"), "**/orders/")
    _click_and_wait(
        page,
        page.get_by_role("link", name=f"订单 {order_id}", exact=True),
        f"**/orders/{order_id}/",
    )
    _click_and_wait(page, page.get_by_role("button", name="确认收货"), f"**/orders/{order_id}/")
    assert page.get_by_role("heading", level=1).get_by_text("已完成").is_visible()

    # The order page leads to the review form of its line.
    _click_and_wait(page, page.get_by_role("link", name="评价", exact=True), "**/reviews/line/*/")
    page.get_by_role("radio", name=f"{stars} 星", exact=True).check()
    page.get_by_label("您的评价").fill(text)
    _click_and_wait(page, page.get_by_role("button", name="发布评价"), "**/reviews/mine/**")


def test_a_buyer_buys_from_two_village_shops_and_the_label_engine_counts_the_sales(person, world):
    tree = world["tree"]
    apple_a, apple_b = world["apples"]
    shop_a, shop_b = world["shops"]
    seller_a, seller_b = world["sellers"]

    # The buyer searches, buys from both shops in one checkout and pays.
    buyer_page = person(world["buyer"].phone)
    order_ids = _buy(buyer_page, world)
    orders = {order.shop_id: order for order in Order.objects.filter(pk__in=order_ids)}
    assert set(orders) == {shop_a.pk, shop_b.pk}
    assert all(order.status == S.PAID for order in orders.values())
    order_a, order_b = orders[shop_a.pk], orders[shop_b.pk]
    assert (order_a.total_fen, order_b.total_fen) == (7980, 6600)

    # Each seller ships and marks delivered from the order desk, on a 360-px phone.
    for seller, order, tracking in (
        (seller_a, order_a, "SF1000000001"),
        (seller_b, order_b, "YT2000000002"),
    ):
        _ship_and_deliver(person(seller.phone), order.pk, tracking)
    for order in (order_a, order_b):
        order.refresh_from_db()
        assert order.status == S.DELIVERED and order.carrier == "顺丰速运"

    # The buyer confirms receipt of each order and reviews its line.
    reviews = {
        order_a.pk: (5, "前仓的苹果又脆又甜，包装很用心。"),
        order_b.pk: (4, "冰糖心很明显，物流稍慢。"),
    }
    for order_id, (stars, text) in reviews.items():
        _confirm_and_review(buyer_page, order_id, stars, text)
    assert sorted(Review.objects.values_list("stars", flat=True)) == [4, 5]
    assert Order.objects.filter(pk__in=order_ids, status=S.COMPLETED).count() == 2
    assert SalesOrder.objects.filter(order_id__in=[str(pk) for pk in order_ids]).count() == 2

    # The reviews show on the product pages.
    for product, (stars, text) in ((apple_a, reviews[order_a.pk]), (apple_b, reviews[order_b.pk])):
        buyer_page.goto(buyer_page.base_url + f"/market/p/{product.pk}/")
        section = buyer_page.locator("section#reviews")
        assert section.get_by_text(text).is_visible()
        assert section.get_by_label(f"{stars} 星", exact=True).first.is_visible()
        _assert_fits_the_phone(buyer_page)

    # A county officer requests an evaluation on the labels pages; the worker runs it.
    today = datetime.now(CHINA).date()
    officer_page = person(world["officer"].phone)
    officer_page.goto(officer_page.base_url + "/labels/")
    _click_and_wait(
        officer_page,
        officer_page.get_by_role("link", name="发起评定"),
        "**/labels/evaluations/new/",
    )
    officer_page.get_by_label("规则集").select_option(RULES)
    officer_page.get_by_label("截止日期").fill(today.isoformat())
    _click_and_wait(
        officer_page,
        officer_page.get_by_role("button", name="发起", exact=True),
        "**/labels/evaluations/*/",
    )
    evaluation = Evaluation.objects.get()
    assert evaluation.status == EvaluationStatus.QUEUED and evaluation.cutoff == today
    call_command("db_worker", batch=True, no_startup_delay=True, verbosity=0)
    evaluation.refresh_from_db()
    assert evaluation.status == EvaluationStatus.DONE, evaluation.error

    # Each village's counted sales include its shop's order (goods and shipping).
    for village, order in ((tree.qianchang, order_a), (tree.lizu, order_b)):
        result = VillageResult.objects.get(evaluation=evaluation, village_id=village.code)
        assert result.sales_fen == order.total_fen
        officer_page.goto(officer_page.base_url + f"/labels/villages/{village.code}/")
        officer_page.wait_for_url(f"**/labels/evaluations/{evaluation.pk}/villages/{village.code}/")
        facts = officer_page.locator("dl.facts").inner_text()
        assert f"计入的销售额\n{Money(order.total_fen).format()}" in facts, facts

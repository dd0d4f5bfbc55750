"""The pages: add to cart from the product page, cart, checkout to the sandbox pay page and
back, the buyer's orders and the seller's desk, and who may see what."""

import re

from django.conf import settings
from django.test import Client

from taocun.core.models import AuditEntry
from taocun.market import services as market_services
from taocun.orders.models import CartLine, Checkout
from taocun.orders.models import OrderStatus as S
from taocun.orders.tests import factories
from taocun.payments.models import PaymentIntent


def english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_the_product_page_has_an_add_to_cart_form(orchard, variant):
    html = english(Client()).get(f"/market/p/{orchard[2].pk}/").content.decode()
    assert 'action="/orders/cart/add/"' in html
    assert f'value="{variant.pk}"' in html and "Add to cart" in html


def test_a_visitor_cart_lives_in_the_session_and_joins_the_account_at_login(buyer, variant):
    client = english(Client())
    response = client.post("/orders/cart/add/", {"variant": variant.pk, "quantity": 2})
    assert response.status_code == 302
    html = client.get("/orders/cart/").content.decode()
    assert "烟台红富士苹果" in html and "前仓果园" in html
    client.force_login(buyer)
    assert CartLine.objects.get(cart__buyer=buyer).quantity == 2


def test_cart_checkout_pay_and_come_back(
    client_for, buyer, variant, django_capture_on_commit_callbacks
):
    client = english(client_for(buyer))
    client.post("/orders/cart/add/", {"variant": variant.pk, "quantity": 3})
    cart = client.get("/orders/cart/").content.decode()
    assert "¥119.70" in cart  # 3 × ¥39.90
    page = client.get("/orders/checkout/")
    html = page.content.decode()
    key = re.search(r'name="key" value="(\w+)"', html).group(1)
    address = buyer.addresses.get()
    form = {
        "address": address.pk,
        "key": key,
        "variant": [variant.pk],
        "quantity": ["3"],
        "price_fen": [str(variant.price_fen)],
    }

    response = client.post("/orders/checkout/", form)

    checkout = Checkout.objects.get()
    assert response.status_code == 302 and response["Location"] == checkout.pay_url
    with django_capture_on_commit_callbacks(execute=True):
        paid = client.post(checkout.pay_url, {"action": "pay"})
    assert paid["Location"] == f"/orders/checkout/{checkout.pk}/"
    result = client.get(paid["Location"]).content.decode()
    assert "your payment was received" in result
    assert checkout.orders.get().status == S.PAID
    assert PaymentIntent.objects.get().status == "succeeded"


def test_a_changed_price_shows_the_checkout_again_with_the_line_named(client_for, buyer, variant):
    client = english(client_for(buyer))
    client.post("/orders/cart/add/", {"variant": variant.pk, "quantity": 1})
    market_services.variant_update(actor=None, variant=variant, price_fen=5000)
    form = {
        "address": buyer.addresses.get().pk,
        "key": "k",
        "variant": [variant.pk],
        "quantity": ["1"],
        "price_fen": ["3990"],
    }
    response = client.post("/orders/checkout/", form)
    assert response.status_code == 409
    html = response.content.decode()
    assert "Line 1" in html and "¥50.00" in html
    assert not Checkout.objects.exists()


def test_the_order_history_is_not_named_after_label_evaluations(client_for, paid_order, buyer):
    """The site catalogue (LOCALE_PATHS) outranks the app's: a bare "History" would show
    the labels' "历次评定" (past evaluations) on the order page."""
    page = client_for(buyer).get(f"/orders/{paid_order.pk}/").content.decode()
    assert "<h2>订单记录</h2>" in page and "历次评定" not in page


def test_buyer_confirms_receipt_on_the_order_page(client_for, paid_order, keeper, buyer):
    seller = english(client_for(keeper))
    desk = seller.get("/orders/desk/?status=paid").content.decode()
    assert f"/orders/desk/{paid_order.pk}/" in desk
    response = seller.post(
        f"/orders/{paid_order.pk}/ship/", {"carrier": "顺丰", "tracking_number": "SF9"}
    )
    assert response["Location"] == f"/orders/desk/{paid_order.pk}/"
    me = english(client_for(buyer))
    page = me.get(f"/orders/{paid_order.pk}/").content.decode()
    assert "Confirm receipt" in page and "SF9" in page
    me.post(f"/orders/{paid_order.pk}/confirm/")
    paid_order.refresh_from_db()
    assert paid_order.status == S.COMPLETED
    assert "completed" in me.get("/orders/").content.decode()


def _form_key(page: str) -> str:
    return re.search(r'name="key" value="([0-9a-f]{32})"', page)[1]


def test_seller_refunds_part_in_yuan_once_however_often_the_form_is_sent(
    client_for, paid_order, keeper
):
    seller = english(client_for(keeper))
    key = _form_key(seller.get(f"/orders/desk/{paid_order.pk}/").content.decode())
    form = {"amount": "9.90", "reason": "少发一个", "key": key}
    for _attempt in range(2):  # a double tap, or a retry after a lost answer
        response = seller.post(f"/orders/{paid_order.pk}/refund/", form)
        assert response.status_code == 302
    paid_order.refresh_from_db()
    assert paid_order.refunded_fen == 990 and paid_order.status == S.PAID
    # A second refund is a new form, with its own key.
    key = _form_key(seller.get(f"/orders/desk/{paid_order.pk}/").content.decode())
    seller.post(f"/orders/{paid_order.pk}/refund/", {**form, "key": key})
    paid_order.refresh_from_db()
    assert paid_order.refunded_fen == 1980


def test_the_order_page_says_when_an_unanswered_refund_request_is_granted(
    client_for, paid_order, buyer
):
    me = english(client_for(buyer))
    me.post(f"/orders/{paid_order.pk}/refund-request/", {"amount": "5", "reason": "烂了"})
    paid_order.refresh_from_db()
    assert paid_order.status == S.REFUND_REQUESTED and paid_order.refund_due_at
    page = me.get(f"/orders/{paid_order.pk}/").content.decode()
    assert "Seller answers by" in page and "without an answer, the refund is granted" in page


def test_a_refund_form_without_its_key_refunds_nothing(client_for, paid_order, keeper):
    seller = english(client_for(keeper))
    for key in (None, "", "x" * 32, "../" + "0" * 29):
        form = {"amount": "9.90", "reason": "少发一个"} | ({"key": key} if key is not None else {})
        response = seller.post(f"/orders/{paid_order.pk}/refund/", form)
        assert response.status_code == 400
        assert "This form has expired" in response.content.decode()
    paid_order.refresh_from_db()
    assert paid_order.refunded_fen == 0


def test_another_buyers_order_is_403_and_audited(client_for, paid_order):
    stranger = factories.buyer()
    response = client_for(stranger).get(f"/orders/{paid_order.pk}/")
    assert response.status_code == 403
    entry = AuditEntry.objects.get(action="access.denied", object_id=str(paid_order.pk))
    assert entry.actor == stranger
    assert client_for(stranger).post(f"/orders/{paid_order.pk}/confirm/").status_code == 403


def test_staff_see_every_order(client_for, paid_order, user_with_role):
    from taocun.accounts.models import Role

    admin = user_with_role(Role.PROGRAM_ADMIN)
    assert client_for(admin).get(f"/orders/{paid_order.pk}/").status_code == 200


def test_pages_need_a_login(db):
    response = Client().get("/orders/")
    assert response.status_code == 302 and "/login" in response["Location"]


def test_navigation_shows_cart_orders_and_the_desk(client_for, keeper, buyer):
    def labels(user):
        html = english(client_for(user)).get("/").content.decode()
        nav = re.search(r'<nav class="nav".*?</nav>', html, re.S).group(0)
        return re.findall(r">([^<>]+)</a>", nav)

    assert {"Cart", "My orders", "Address book"} <= set(labels(buyer))
    assert "Orders to fill" not in labels(buyer)
    assert "Orders to fill" in labels(keeper)
    # The address book's pages mark their entry as the current one.
    html = english(client_for(buyer)).get("/orders/addresses/").content.decode()
    assert re.search(r'aria-current="page">Address book<', html)


def test_amounts_carry_the_colon_of_the_reader_s_language(client_for, buyer, variant):
    client = client_for(buyer)  # Chinese by default
    client.post("/orders/cart/add/", {"variant": variant.pk, "quantity": 1})
    cart = client.get("/orders/cart/").content.decode()
    assert "运费：¥" in cart and '店铺合计：<strong class="price">¥' in cart
    assert "含运费合计：" in cart and "运费:" not in cart
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    checkout = client.get("/orders/checkout/").content.decode()
    assert "Livraison\u00a0: ¥" in checkout and "Total à payer\u00a0:" in checkout


def test_an_order_row_keeps_its_total_and_status_together(client_for, paid_order, buyer):
    page = client_for(buyer).get("/orders/").content.decode()
    row = re.search(rf'<li><div><a href="/orders/{paid_order.pk}/">.*?</li>', page).group(0)
    meta = r'<span class="meta">¥[\d,.]+<br><span class="badge">已付款</span></span>'
    assert re.search(meta, row)

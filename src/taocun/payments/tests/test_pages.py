"""The seller's money page through HTTP: what it shows, who may see it, and the payout form
(one payout however often it is sent, nothing changed when it is refused)."""

import re

import pytest
from django.conf import settings
from django.test import Client

from taocun.accounts.models import Role
from taocun.accounts.tests.factories import UserFactory
from taocun.core.models import AuditEntry
from taocun.core.money import Money
from taocun.market.tests import factories as market
from taocun.payments import selectors, services, views
from taocun.payments.models import Payout, PayoutStatus
from taocun.payments.tests.factories import next_number, person

pytestmark = pytest.mark.django_db

MONEY = "/payments/money/"


def english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def order_paid(seller, amount_fen: int, *, order: int, rate_bp: int = 200) -> str:
    """A paid order of the market (reference ``orders.order:<order>``) to ``seller``."""
    number = next_number()
    reference = f"orders.order:{order}"
    intent = services.payment_intent_create(
        reference=f"orders.checkout:{number}",
        buyer=person(),
        amount=Money(amount_fen),
        splits=[
            services.Split(
                reference=reference,
                seller=seller,
                amount=Money(amount_fen),
                commission_rate_bp=rate_bp,
            )
        ],
        idempotency_key=f"test.pages.intent:{number}",
    )
    services.payment_capture(
        intent=intent,
        amount=Money(amount_fen),
        provider_payment_id=f"pay-{number}",
        idempotency_key=f"test.pages.capture:{number}",
    )
    return reference


@pytest.fixture
def keeper(tree):
    return market.seller(tree.qianchang)


@pytest.fixture
def shop(tree, keeper):
    return market.shop(tree.qianchang, name="前仓果园", keeper=keeper)


@pytest.fixture
def earned(keeper, shop):
    """¥98.00 available (a ¥100.00 order released at 2 %), ¥50.00 still in escrow."""
    released = order_paid(keeper, 10_000, order=71)
    order_paid(keeper, 5_000, order=72)
    services.escrow_release(reference=released, idempotency_key="test.pages.release")
    return keeper


def form_key(page: str) -> str:
    return re.search(r'name="key" value="([0-9a-f]{32})"', page)[1]


def available(seller) -> int:
    return selectors.seller_balance(seller=seller).available.amount_fen


def test_the_keeper_sees_balance_escrow_payouts_and_statement(client_for, earned, shop):
    services.payout_request(seller=earned, amount=Money(3_000), idempotency_key="test.po")
    page = english(client_for(earned)).get(MONEY)

    assert page.status_code == 200
    html = page.content.decode()
    assert "Money of 前仓果园" in html
    facts = re.search(r'<dl class="facts card">.*?</dl>', html, re.S)[0]
    assert re.search(r"Available to pay out</dt><dd[^>]*>¥68.00<", facts)
    assert re.search(r"Held until buyers confirm receipt</dt><dd>¥50.00<", facts)
    assert re.search(r"Payouts on their way</dt><dd>¥30.00<", facts)
    payout = Payout.objects.get()
    assert f"Payout {payout.pk}" in html and "in transit" in html
    # The statement, newest first, each line with the balance after it; the released
    # order links to its page on the order desk.
    statement = html[html.index('id="statement"') :]
    payout_line = statement.index("payout requested")
    release_line = statement.index("escrow released to the seller")
    assert payout_line < release_line
    assert "-¥30.00" in statement and "balance ¥68.00" in statement
    assert "+¥98.00" in statement and "balance ¥98.00" in statement
    assert '<a href="/orders/desk/71/">Order 71</a>' in statement
    # The form offers the whole available balance and carries a one-time key.
    assert 'name="amount"' in html and 'value="68.00"' in html
    assert form_key(html)


def test_the_statement_is_paginated(client_for, earned, monkeypatch):
    monkeypatch.setattr(views, "STATEMENT_PAGE_SIZE", 2)
    for number in range(2):
        services.payout_request(
            seller=earned, amount=Money(100 + number), idempotency_key=f"test.po.{number}"
        )
    client = english(client_for(earned))

    first = client.get(MONEY).content.decode()
    second = client.get(f"{MONEY}?page=2").content.decode()

    assert "Page 1 of 2" in first and "escrow released to the seller" not in first
    assert "-¥1.01" in first and "-¥1.00" in first
    assert "escrow released to the seller" in second and "balance ¥98.00" in second


def test_the_desk_and_my_shop_link_to_the_money_page(client_for, earned, shop):
    client = english(client_for(earned))
    for url in ("/orders/desk/", "/market/sell/"):
        assert f'href="{MONEY}">Money and payouts</a>' in client.get(url).content.decode()


def test_anonymous_visitors_are_sent_to_log_in(shop):
    for url in (MONEY, f"{MONEY}{shop.pk}/"):
        response = Client().get(url)
        assert response.status_code == 302 and "/login" in response["Location"]
    response = Client().post(MONEY, {"amount": "1", "key": "0" * 32})
    assert response.status_code == 302 and "/login" in response["Location"]
    assert not Payout.objects.exists()


def test_another_seller_gets_403_and_an_audit_entry(client_for, tree, earned, shop):
    other = market.seller(tree.qianchang)
    market.shop(tree.qianchang, name="隔壁果园", keeper=other)

    response = english(client_for(other)).get(f"{MONEY}{shop.pk}/")

    assert response.status_code == 403
    assert "Only the sellers of a shop see its money." in response.content.decode()
    entry = AuditEntry.objects.get(action="access.denied", object_id=str(shop.pk))
    assert entry.actor == other and entry.after["what"] == "shop money"
    assert "¥98.00" not in response.content.decode()


def test_a_user_without_a_shop_gets_403_and_an_audit_entry(client_for, earned):
    buyer = person()
    client = english(client_for(buyer))

    assert client.get(MONEY).status_code == 403
    assert client.post(MONEY, {"amount": "1", "key": "0" * 32}).status_code == 403

    entries = AuditEntry.objects.filter(action="access.denied", actor=buyer)
    assert entries.count() == 2 and entries.first().after["what"] == "shop money"
    assert not Payout.objects.exists() and available(earned) == 9_800


def test_staff_see_a_shop_s_money_but_do_not_pay_it_out(client_for, user_with_role, earned, shop):
    admin = user_with_role(Role.PROGRAM_ADMIN, password=None)

    html = english(client_for(admin)).get(f"{MONEY}{shop.pk}/").content.decode()

    assert "¥98.00" in html and 'name="amount"' not in html


def test_another_keeper_of_the_household_sees_the_money_but_cannot_pay_it_out(
    client_for, earned, shop
):
    partner = UserFactory(roles=[(Role.SELLER, None)], household=earned.household, password=None)
    client = english(client_for(partner))

    html = client.get(MONEY).content.decode()
    assert "¥98.00" in html and 'name="amount"' not in html
    assert "Only the seller who opened the shop can request its payouts." in html

    response = client.post(MONEY, {"amount": "10", "key": "0" * 32})
    assert response.status_code == 403
    entry = AuditEntry.objects.get(action="access.denied", actor=partner)
    assert entry.after["what"] == "payout request"
    assert not Payout.objects.exists() and available(earned) == 9_800


def test_a_payout_posted_twice_with_its_key_pays_out_once(client_for, earned):
    client = english(client_for(earned))
    form = {"amount": "30.50", "key": form_key(client.get(MONEY).content.decode())}

    for _attempt in range(2):  # a double tap, or a retry after a lost answer
        response = client.post(MONEY, form)
        assert response.status_code == 302 and response["Location"] == MONEY

    payout = Payout.objects.get()
    assert (payout.seller, payout.amount_fen, payout.status) == (
        earned,
        3_050,
        PayoutStatus.IN_TRANSIT,
    )
    assert available(earned) == 9_800 - 3_050
    assert AuditEntry.objects.filter(action="payout.request").count() == 1
    page = client.get(MONEY).content.decode()
    assert f"Payout {payout.pk} of ¥30.50 requested" in page
    # Another payout is another form, with its own key.
    client.post(MONEY, {"amount": "1", "key": form_key(page)})
    assert Payout.objects.count() == 2 and available(earned) == 9_800 - 3_150


@pytest.mark.parametrize("key", [None, "", "x" * 32, "../" + "0" * 29, "0" * 31])
def test_a_payout_without_a_valid_key_pays_out_nothing(client_for, earned, key):
    form = {"amount": "10"} | ({"key": key} if key is not None else {})

    response = english(client_for(earned)).post(MONEY, form)

    assert response.status_code == 400
    html = response.content.decode()
    assert "This form has expired: open the money page again and repeat the payout." in html
    assert form_key(html)  # a fresh form to try again
    assert not Payout.objects.exists() and available(earned) == 9_800


def test_a_payout_above_the_balance_is_refused_and_nothing_changes(client_for, earned):
    client = english(client_for(earned))
    form = {"amount": "98.01", "key": form_key(client.get(MONEY).content.decode())}

    response = client.post(MONEY, form)

    assert response.status_code == 409
    html = response.content.decode()
    assert 'aria-invalid="true"' in html and 'value="98.01"' in html
    assert re.search(
        r'<p class="error" id="id_amount_error" role="alert">'
        r"That is more than your available balance \(¥98.00\).</p>",
        html,
    )
    assert not Payout.objects.exists() and available(earned) == 9_800
    assert not AuditEntry.objects.filter(action="payout.request").exists()
    # Nothing was claimed: the same form, with an amount that fits, pays out.
    assert client.post(MONEY, {**form, "amount": "98"}).status_code == 302
    assert available(earned) == 0


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("", "Enter an amount in yuan."),
        ("abc", "abc is not an amount in yuan"),
        ("1.234", "1.234 has more than 2 decimals"),
        ("0", "The amount must be more than zero"),
        ("-5", "The amount must be more than zero"),
    ],
)
def test_a_bad_amount_is_a_field_error(client_for, earned, amount, message):
    client = english(client_for(earned))
    form = {"amount": amount, "key": form_key(client.get(MONEY).content.decode())}

    response = client.post(MONEY, form)

    assert response.status_code == 400
    html = response.content.decode()
    error = re.search(r'<p class="error" id="id_amount_error" role="alert">(.*?)</p>', html)
    assert error and message in error[1]
    assert not Payout.objects.exists() and available(earned) == 9_800


def test_a_used_form_sent_with_another_amount_is_refused(client_for, earned):
    client = english(client_for(earned))
    key = form_key(client.get(MONEY).content.decode())
    client.post(MONEY, {"amount": "10", "key": key})

    response = client.post(MONEY, {"amount": "20", "key": key})

    assert response.status_code == 409
    assert "This form was already used for another payout" in response.content.decode()
    assert Payout.objects.get().amount_fen == 1_000 and available(earned) == 8_800

"""Who hears about an order, and how: every step of an order's life that notifies tells the
buyer and/or the seller exactly once, about that order, in the recipient's own language, in
the inbox and through the SMS and e-mail backends (the in-memory ones here, sent in the
process after commit as ``notifications/tests/conftest.py`` does). A step repeated
idempotently (a payment announced twice, a refund with the same key, a sweep run again)
tells nobody anything more."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core import mail
from django.db.models import Max
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from taocun.core.money import Money
from taocun.market.tests import factories as market
from taocun.notifications.backends import LocmemSmsBackend
from taocun.notifications.models import DeliveryStatus, Notification
from taocun.notifications.services import preferences_update
from taocun.orders import services
from taocun.orders.models import Checkout, Order
from taocun.orders.models import OrderStatus as S
from taocun.orders.tests import factories
from taocun.payments import services as payments
from taocun.payments import signals
from taocun.payments.models import PaymentIntent
from taocun.payments.providers.sandbox import SandboxProvider

BUYER, SELLER = "buyer", "seller"
# Both differ from LANGUAGE_CODE (zh-hans), the language the steps themselves run in.
LANGUAGES = {BUYER: "fr", SELLER: "en"}
EMAILS = {BUYER: "buyer@example.com", SELLER: "seller@example.com"}
REFUND_FEN = 990

# The title of each kind as the services write it, before translation.
TITLES = {
    "order.placed": "Order placed: pay %(total)s",
    "order.paid": "Order %(id)d is paid",
    "order.cancelled": "Order %(id)d is cancelled",
    "order.shipped": "Order %(id)d is on its way",
    "order.delivered": "Order %(id)d is delivered",
    "order.completed": "Order %(id)d is completed",
    "order.refund_requested": "Refund of %(amount)s asked for order %(id)d",
    "order.refunded": "%(amount)s refunded for order %(id)d",
    "order.refund_declined": "The refund for order %(id)d was refused",
}


@pytest.fixture(autouse=True)
def backends_in_memory(settings):
    """SMS into LocmemSmsBackend.outbox, e-mail into django.core.mail.outbox, sent right
    after commit instead of by the task worker."""
    settings.NOTIFICATIONS_SEND_IN_WORKER = False
    settings.NOTIFICATIONS_SMS_BACKEND = "taocun.notifications.backends.LocmemSmsBackend"
    settings.NOTIFICATIONS_EMAIL_BACKEND = "taocun.notifications.backends.DjangoEmailBackend"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.NOTIFICATIONS_SITE_URL = "https://taocun.example"
    LocmemSmsBackend.outbox.clear()
    mail.outbox = []
    yield
    LocmemSmsBackend.outbox.clear()


@dataclass
class Walk:
    """One checkout of one order, walked step by step; each step commits (its on-commit
    callbacks run, as after a real commit)."""

    buyer: object
    keeper: object
    variant: object
    run: object
    checkout: Checkout | None = None

    @property
    def order(self) -> Order:
        return self.checkout.orders.select_related("buyer", "seller").get()

    @property
    def people(self) -> dict[int, str]:
        return {self.buyer.pk: BUYER, self.keeper.pk: SELLER}

    def __call__(self, *steps) -> None:
        for step in steps:
            self.run(step, self)


@pytest.fixture
def ids_apart(tree, variant):
    """Another buyer's checkout of two shops, cancelled and never committed (it tells
    nobody): from now on an order's id is not its checkout's, so a text naming the one is
    not taken for the other (on SQLite both would start at 1)."""
    tea = market.product(market.shop(tree.lizu, name="后宅茶园"), name="龙井茶", category="fruit")
    other = factories.place(factories.buyer(), (variant, 1), (tea.variants.get(), 1))
    services.checkout_cancel(checkout=other, actor=None)  # out of the timeout sweep's way


@pytest.fixture
def walk(ids_apart, buyer, keeper, variant, run_on_commit) -> Walk:
    """A buyer who reads French and a seller who reads English, both with an e-mail
    address (SMS goes to their login phone)."""
    for role, user in ((BUYER, buyer), (SELLER, keeper)):
        preferences_update(user=user, actor=user, language=LANGUAGES[role], email=EMAILS[role])
    return Walk(buyer=buyer, keeper=keeper, variant=variant, run=run_on_commit)


def later():
    """Past every deadline of a walk (payment, confirmation, refund answer): when the
    sweeps run."""
    return timezone.now() + timedelta(days=365)


# --- steps ---------------------------------------------------------------------------------


def place(walk):
    walk.checkout = factories.place(walk.buyer, (walk.variant, 2), key="walk-checkout")


def pay(walk):
    factories.pay(walk.checkout)


def payment_announced_again(walk):
    intent = PaymentIntent.objects.get(public_id=walk.checkout.intent_id)
    signals.payment_succeeded.send(
        sender=PaymentIntent,
        intent_id=intent.public_id,
        reference=intent.reference,
        order_references=[walk.order.reference],
    )


def payment_fails(walk):
    payments.payment_fail(
        intent=walk.checkout.intent_id, reason="card declined", idempotency_key="walk-fail"
    )


def payment_closed_announced_again(walk):
    signals.payment_closed.send(
        sender=PaymentIntent,
        intent_id=walk.checkout.intent_id,
        reference=walk.checkout.reference,
        status="failed",
        reason="card declined",
    )


def payment_times_out(walk):
    services.checkouts_expire_due(now=later())


def buyer_cancels(walk):
    services.order_cancel(order=walk.order, actor=walk.buyer, reason="不要了")


def checkout_cancelled_again(walk):
    services.checkout_cancel(checkout=walk.checkout, actor=walk.buyer)


def seller_cancels(walk):
    services.order_cancel(order=walk.order, actor=walk.keeper, reason="缺货")


def ship(walk):
    services.order_ship(order=walk.order, actor=walk.keeper, carrier="EMS", tracking_number="E1")


def deliver(walk):
    services.order_deliver(order=walk.order, actor=walk.keeper)


def confirm(walk):
    services.order_confirm(order=walk.order, actor=walk.buyer)


def completion_due(walk):
    services.orders_complete_due(now=later())


def escrow_release_due(walk):
    payments.escrow_release_due(now=later())


def escrow_released_announced_again(walk):
    services.order_escrow_released(reference=walk.order.reference)


def request_refund(walk):
    services.order_refund_request(
        order=walk.order, actor=walk.buyer, amount_fen=REFUND_FEN, reason="烂了三个"
    )


def refund(walk):
    services.order_refund(
        order=walk.order, actor=walk.keeper, amount_fen=REFUND_FEN, idempotency_key="walk-refund"
    )


def refund_in_full(walk):
    order = walk.order
    services.order_refund(order=order, actor=walk.keeper, amount_fen=order.refundable_fen)


def refund_due(walk):
    services.orders_refund_due(now=later())


def decline_refund(walk):
    services.order_refund_decline(order=walk.order, actor=walk.keeper, note="苹果完好")


# --- what was sent -------------------------------------------------------------------------


def last_notification_id() -> int:
    return Notification.objects.aggregate(last=Max("id"))["last"] or 0


def notifications_after(pk: int) -> list[Notification]:
    return list(Notification.objects.filter(pk__gt=pk).prefetch_related("deliveries"))


def outboxes_clear() -> None:
    LocmemSmsBackend.outbox.clear()
    mail.outbox = []


def title_in(language: str, kind: str, *, order: Order, amount_fen: int) -> str:
    with translation.override(language):
        return gettext(TITLES[kind]) % {
            "id": order.pk,
            "total": Money(order.checkout.total_fen),
            "amount": Money(amount_fen),
        }


# (before, step, kind, who is told); every walk starts with nothing placed.
PAID = (place, pay)
DELIVERED = (*PAID, ship, deliver)
STEPS = {
    "placed": ((), place, "order.placed", {BUYER}),
    "paid": ((place,), pay, "order.paid", {BUYER, SELLER}),
    "unpaid, cancelled by the buyer": ((place,), buyer_cancels, "order.cancelled", {BUYER}),
    "unpaid, payment failed": ((place,), payment_fails, "order.cancelled", {BUYER}),
    "unpaid, payment timed out": ((place,), payment_times_out, "order.cancelled", {BUYER}),
    "paid, cancelled by the seller": (PAID, seller_cancels, "order.cancelled", {BUYER, SELLER}),
    "shipped": (PAID, ship, "order.shipped", {BUYER}),
    "delivered": ((*PAID, ship), deliver, "order.delivered", {BUYER, SELLER}),
    "confirmed by the buyer": (DELIVERED, confirm, "order.completed", {BUYER, SELLER}),
    "completed when due": (DELIVERED, completion_due, "order.completed", {BUYER, SELLER}),
    "escrow released when due": (
        DELIVERED,
        escrow_release_due,
        "order.completed",
        {BUYER, SELLER},
    ),
    "refund requested": (DELIVERED, request_refund, "order.refund_requested", {BUYER, SELLER}),
    "refund in part, unasked": (PAID, refund, "order.refunded", {BUYER, SELLER}),
    "refund in full": (PAID, refund_in_full, "order.refunded", {BUYER, SELLER}),
    "refund asked and given": (
        (*DELIVERED, request_refund),
        refund,
        "order.refunded",
        {BUYER, SELLER},
    ),
    "refund asked, unanswered": (
        (*DELIVERED, request_refund),
        refund_due,
        "order.refunded",
        {BUYER, SELLER},
    ),
    "refund declined": (
        (*DELIVERED, request_refund),
        decline_refund,
        "order.refund_declined",
        {BUYER},
    ),
}


@pytest.mark.parametrize(("before", "step", "kind", "told"), STEPS.values(), ids=STEPS.keys())
def test_each_step_tells_the_right_people_once_in_their_language(walk, before, step, kind, told):
    walk(*before)
    since = last_notification_id()
    outboxes_clear()

    walk(step)

    notifications = notifications_after(since)
    assert sorted((walk.people[n.user_id], n.kind) for n in notifications) == sorted(
        (role, kind) for role in told
    )
    order = walk.order
    # The id checks below tell an order from its checkout only when their ids differ: on
    # SQLite the fixture's unrelated checkout makes them differ; PostgreSQL's sequences
    # are not reset between tests, so there they usually differ and may not.
    amount_fen = order.refunded_fen if kind == "order.refunded" else REFUND_FEN
    sms_to, mail_to = set(), set()
    for notification in notifications:
        role = walk.people[notification.user_id]
        user = walk.buyer if role == BUYER else walk.keeper
        language = LANGUAGES[role]
        title = title_in(language, kind, order=order, amount_fen=amount_fen)
        assert notification.title == title
        if kind == "order.placed":  # about the checkout, which pays every shop's order
            assert str(order.checkout_id) in notification.body
            assert notification.url == reverse("orders:checkout_result", args=[order.checkout_id])
        else:
            assert notification.context == {"order": order.pk}
            page = "orders:desk_detail" if role == SELLER else "orders:detail"
            assert notification.url == reverse(page, args=[order.pk])
        deliveries = {d.channel: d for d in notification.deliveries.all()}
        assert {c: (d.address, d.status) for c, d in deliveries.items()} == {
            "sms": (user.phone, DeliveryStatus.SENT),
            "email": (EMAILS[role], DeliveryStatus.SENT),
        }
        [sms] = [m for m in LocmemSmsBackend.outbox if m.notification_id == notification.pk]
        assert (sms.to, sms.kind, sms.language) == (user.phone, kind, language)
        assert title in sms.text
        [email] = [m for m in mail.outbox if m.to == [EMAILS[role]]]
        assert title in email.subject
        sms_to.add(sms.to)
        mail_to.add(email.to[0])
    assert len(LocmemSmsBackend.outbox) == len(sms_to) == len(told)
    assert len(mail.outbox) == len(mail_to) == len(told)


# (steps, repeated): the repeat is a no-op of the service and must tell nobody again.
REPEATS = {
    "checkout placed again with the same key": ((place,), place),
    "payment captured again with the same key": (PAID, pay),
    "payment announced again": (PAID, payment_announced_again),
    "failed payment announced again": ((place, payment_fails), payment_closed_announced_again),
    "timeout sweep run again": ((place, payment_times_out), payment_times_out),
    "cancelled checkout cancelled again": ((place, buyer_cancels), checkout_cancelled_again),
    "completed order's escrow released when due": ((*DELIVERED, confirm), escrow_release_due),
    "completed order's escrow release announced again": (
        (*DELIVERED, completion_due),
        escrow_released_announced_again,
    ),
    "refund with the same key": ((*PAID, refund), refund),
    "unanswered refund sweep run again": ((*DELIVERED, request_refund, refund_due), refund_due),
}


@pytest.mark.parametrize(("steps", "repeated"), REPEATS.values(), ids=REPEATS.keys())
def test_a_step_repeated_idempotently_tells_nobody_again(walk, steps, repeated):
    walk(*steps)
    since = last_notification_id()
    outboxes_clear()

    walk(repeated)

    assert notifications_after(since) == []
    assert LocmemSmsBackend.outbox == [] and mail.outbox == []


def test_a_whole_life_tells_each_side_what_the_services_say(walk):
    """Placed, paid, shipped, delivered, refund asked and refused, confirmed: the buyer
    hears of every step, the seller only of those that concern them."""
    walk(*DELIVERED, request_refund, decline_refund, confirm)

    assert walk.order.status == S.COMPLETED
    kinds = Notification.objects.order_by("id").values_list("user_id", "kind")
    by_role = {BUYER: [], SELLER: []}
    for user_id, kind in kinds:
        by_role[walk.people[user_id]].append(kind)
    assert by_role == {
        BUYER: [
            "order.placed",
            "order.paid",
            "order.shipped",
            "order.delivered",
            "order.refund_requested",
            "order.refund_declined",
            "order.completed",
        ],
        SELLER: ["order.paid", "order.delivered", "order.refund_requested", "order.completed"],
    }
    assert len(LocmemSmsBackend.outbox) == len(mail.outbox) == len(kinds) == 11


def callback_post(checkout: Checkout, *, fields: dict | None = None):
    """The sandbox provider's signed "paid" callback, through the real endpoint."""
    fields = fields or SandboxProvider().callback_build(
        intent_id=checkout.intent_id,
        reference=checkout.reference,
        status="paid",
        amount=Money(checkout.total_fen),
        now=timezone.now(),
    )
    return Client().post("/payments/callback/sandbox/", data=fields), fields


@pytest.mark.django_db(transaction=True)
def test_a_paid_checkout_tells_each_side_once_in_its_language_when_really_committed(tree):
    """Committed for real, a payment's messages go out as one batch (buyer and seller
    together), which the tests above, inside one transaction, never form; the provider
    calling back again (the same callback, or a new one for the same payment) tells
    nobody again."""
    factories.categories_seed()  # a transactional test starts from a flushed database
    keeper = market.seller(tree.qianchang)
    variant = market.product(market.shop(tree.qianchang, keeper=keeper)).variants.get()
    buyer = factories.buyer()
    walk = Walk(buyer=buyer, keeper=keeper, variant=variant, run=lambda step, w: step(w))
    for role, user in ((BUYER, buyer), (SELLER, keeper)):
        preferences_update(user=user, actor=user, language=LANGUAGES[role], email=EMAILS[role])
    walk(place)
    since = last_notification_id()
    outboxes_clear()

    response, fields = callback_post(walk.checkout)
    assert response.json()["intent_status"] == "succeeded", response.content
    replayed = callback_post(walk.checkout, fields=fields)[0]
    assert (replayed.status_code, replayed.json()["code"]) == (400, "replayed_callback")
    assert callback_post(walk.checkout)[0].json()["intent_status"] == "succeeded"

    order = walk.order
    told = {
        (walk.people[n.user_id], n.kind, n.title) for n in Notification.objects.filter(pk__gt=since)
    }
    assert told == {
        (role, "order.paid", title_in(LANGUAGES[role], "order.paid", order=order, amount_fen=0))
        for role in (BUYER, SELLER)
    }
    assert Notification.objects.filter(pk__gt=since).count() == 2
    assert sorted((m.to, m.language) for m in LocmemSmsBackend.outbox) == sorted(
        (user.phone, LANGUAGES[role]) for role, user in ((BUYER, buyer), (SELLER, keeper))
    )
    assert sorted(m.to[0] for m in mail.outbox) == sorted(EMAILS.values())

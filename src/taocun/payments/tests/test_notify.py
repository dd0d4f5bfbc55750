"""A seller is told about each step of a payout — requested, paid out, failed — once, in
their language, in the app and through the SMS and e-mail backends, and only after commit."""

import pytest
from django.utils import translation

from taocun.core.money import Money
from taocun.payments import services
from taocun.payments.errors import InsufficientFunds
from taocun.payments.tests.factories import checkout_paid, order_references, person

notifications = pytest.importorskip("taocun.notifications.models")

pytestmark = pytest.mark.django_db


@pytest.fixture
def seller():
    """A seller with ¥98.00 available, who reads French and has an e-mail address."""
    from taocun.notifications import services as notify_services

    user = person()
    notify_services.preferences_update(user=user, actor=user, language="fr", email="a@example.com")
    intent = checkout_paid(orders=[(user, 10_000, 200)])
    services.escrow_release(reference=order_references(intent)[0], idempotency_key="release")
    return user


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a call and its on-commit callbacks, as a real commit would."""

    def run(call, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return call(**kwargs)

    return run


def payout_notifications(seller):
    return notifications.Notification.objects.filter(user=seller, kind__startswith="payout.")


def in_french(message: str, **values) -> str:
    with translation.override("fr"):
        return translation.gettext(message) % values


def test_a_payout_request_is_told_to_the_seller_once(seller, committed):
    for _attempt in range(2):  # the same request replayed tells nothing more
        payout = committed(
            services.payout_request,
            seller=seller,
            amount=Money(3_000),
            idempotency_key="po-1",
        )

    told = payout_notifications(seller).get()
    assert told.kind == "payout.requested" and told.group == "payments"
    assert told.title == in_french("Payout of %(amount)s requested", amount="¥30.00")
    assert told.url == "/payments/money/" and told.context == {"payout": payout.pk}
    channels = set(told.deliveries.values_list("channel", flat=True))
    assert channels == {"sms", "email"}


def test_a_completed_payout_is_told_once(seller, committed):
    payout = committed(
        services.payout_request, seller=seller, amount=Money(3_000), idempotency_key="po-1"
    )
    for key in ("done-1", "done-2"):  # a second report of the same outcome
        committed(services.payout_complete, payout=payout, idempotency_key=key)

    told = payout_notifications(seller).get(kind="payout.paid")
    assert told.title == in_french("Payout of %(amount)s paid out", amount="¥30.00")
    assert payout_notifications(seller).count() == 2


def test_a_failed_payout_is_told_with_its_reason(seller, committed):
    payout = committed(
        services.payout_request, seller=seller, amount=Money(3_000), idempotency_key="po-1"
    )
    committed(
        services.payout_fail, payout=payout, reason="bank account closed", idempotency_key="f"
    )

    told = payout_notifications(seller).get(kind="payout.failed")
    assert told.title == in_french("Payout of %(amount)s failed", amount="¥30.00")
    assert "bank account closed" in told.body


def test_a_refused_payout_tells_nothing(seller, committed):
    with pytest.raises(InsufficientFunds):
        committed(services.payout_request, seller=seller, amount=Money(9_801), idempotency_key="po")

    assert not payout_notifications(seller).exists()


def test_nothing_is_told_before_commit(seller, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.payout_request(seller=seller, amount=Money(100), idempotency_key="po")

    assert callbacks and not payout_notifications(seller).exists()

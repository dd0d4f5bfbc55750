"""``notify`` and delivery: stored in the caller's transaction, sent after it commits,
failures recorded and retried, duplicates suppressed, preferences respected."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks_db.models import DBTaskResult

from taocun.core.errors import NotFound, ValidationError
from taocun.notifications import services
from taocun.notifications.models import Delivery, DeliveryStatus, Notification
from taocun.notifications.recipients import in_recipient_language, recipient_language
from taocun.notifications.tasks import deliveries_retry_task
from taocun.notifications.tests.factories import person

pytestmark = pytest.mark.django_db


def order_paid(user, **extra):
    fields = {
        "user": user,
        "kind": "order.paid",
        "title": "订单已付款",
        "body": "订单 T1001 已付款 ¥128.00",
        "url": "/market/orders/T1001/",
        "context": {"order": "T1001", "amount_fen": 12800},
    }
    return services.notify(**{**fields, **extra})


def test_notify_stores_the_notification_and_sends_only_after_commit(
    django_capture_on_commit_callbacks, sms_outbox
):
    buyer = person(email="buyer@example.com")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notification = order_paid(buyer)

    stored = Notification.objects.get()
    assert stored == notification
    assert (stored.user, stored.kind, stored.group) == (buyer, "order.paid", "orders")
    assert stored.context == {"order": "T1001", "amount_fen": 12800}
    assert stored.read_at is None
    assert set(stored.deliveries.values_list("channel", "status")) == {
        ("sms", "pending"),
        ("email", "pending"),
    }
    assert sms_outbox == [] and mail.outbox == []
    assert len(callbacks) == 1

    callbacks[0]()

    assert [m.to for m in sms_outbox] == [buyer.phone]
    assert "订单已付款" in sms_outbox[0].text and "T1001" in sms_outbox[0].text
    assert sms_outbox[0].text.endswith("https://taocun.example/market/orders/T1001/")
    assert sms_outbox[0].context == {"order": "T1001", "amount_fen": 12800}
    assert [m.to for m in mail.outbox] == [["buyer@example.com"]]
    assert "订单已付款" in mail.outbox[0].subject
    assert "https://taocun.example/notifications/preferences/" in mail.outbox[0].body
    delivered = {d.channel: d for d in Delivery.objects.all()}
    assert {d.status for d in delivered.values()} == {DeliveryStatus.SENT}
    assert delivered["sms"].attempts == 1 and delivered["sms"].provider_reference == "locmem-1"
    assert delivered["sms"].sent_at is not None


def test_nothing_is_stored_or_sent_when_the_callers_transaction_rolls_back(
    django_capture_on_commit_callbacks, sms_outbox
):
    buyer = person(email="buyer@example.com")

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        order_paid(buyer)
        raise RuntimeError("the order failed after notifying")

    assert callbacks == []
    assert not Notification.objects.exists() and not Delivery.objects.exists()
    assert sms_outbox == [] and mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_real_commit_sends_and_real_rollback_does_not(sms_outbox):
    """The same, with real transactions (no test wrapper around them)."""
    buyer = person()

    with pytest.raises(RuntimeError), transaction.atomic():
        order_paid(buyer, title="rolled back")
        raise RuntimeError
    with transaction.atomic():
        order_paid(buyer, title="committed")
        assert sms_outbox == []  # not before the commit

    assert list(Notification.objects.values_list("title", flat=True)) == ["committed"]
    assert len(sms_outbox) == 1 and "committed" in sms_outbox[0].text


def test_a_failing_backend_is_recorded_and_retried_with_back_off(
    django_capture_on_commit_callbacks, flaky_sms, settings
):
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 60
    flaky_sms.failures = 2
    seller = person()

    with django_capture_on_commit_callbacks(execute=True):
        notification = order_paid(seller)  # does not raise

    delivery = Delivery.objects.get(notification=notification)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == 1
    assert delivery.error == "ConnectionError: gateway unreachable"
    first_due = delivery.next_attempt_at
    assert first_due - delivery.last_attempt_at == timedelta(seconds=60)
    assert DBTaskResult.objects.filter(run_after=first_due).exists()  # the retry is scheduled

    early = services.deliveries_retry(now=first_due - timedelta(seconds=1))
    assert (early.sent, early.failed) == (0, 0)

    again = services.deliveries_retry(now=first_due)
    delivery.refresh_from_db()
    assert (again.sent, again.failed) == (0, 1)
    assert delivery.attempts == 2
    assert delivery.next_attempt_at - delivery.last_attempt_at == timedelta(seconds=120)

    services.deliveries_retry(now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 3
    assert delivery.error == "" and delivery.next_attempt_at is None
    assert len(flaky_sms.sent) == 1


def test_a_delivery_is_given_up_after_the_last_attempt_and_can_be_forced(
    django_capture_on_commit_callbacks, flaky_sms, settings
):
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 2
    flaky_sms.failures = 5
    with django_capture_on_commit_callbacks(execute=True):
        order_paid(person())
    delivery = Delivery.objects.get()
    services.deliveries_retry(now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 2, None)

    later = services.deliveries_retry(now=timezone.now() + timedelta(days=30))
    assert later.failed == 0 and later.sent == 0

    flaky_sms.failures = 0
    forced = services.delivery_retry(delivery_id=delivery.pk)
    assert (forced.status, forced.attempts) == ("sent", 3)
    with pytest.raises(ValidationError):
        services.delivery_retry(delivery_id=delivery.pk)
    with pytest.raises(NotFound):
        services.delivery_retry(delivery_id=delivery.pk + 1000)


def test_a_backend_that_cannot_be_loaded_is_recorded_not_raised(
    django_capture_on_commit_callbacks, settings
):
    settings.NOTIFICATIONS_SMS_BACKEND = "taocun.notifications.backends.NoSuchBackend"
    with django_capture_on_commit_callbacks(execute=True):
        notification = order_paid(person())
    delivery = Delivery.objects.get(notification=notification)
    assert delivery.status == DeliveryStatus.FAILED
    assert "NoSuchBackend" in delivery.error


def test_a_delivery_left_pending_is_picked_up_by_the_sweep_once(sms_outbox):
    """The process stopped between commit and sending (the callback never ran)."""
    order_paid(person())  # inside the test's transaction: on_commit never fires
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING

    assert services.deliveries_retry(now=timezone.now()).sent == 0  # too fresh: may be in flight
    result = services.deliveries_retry(now=timezone.now() + timedelta(minutes=2))
    again = services.deliveries_retry(now=timezone.now() + timedelta(minutes=3))

    assert (result.sent, again.sent) == (1, 0)
    assert len(sms_outbox) == 1


def test_a_delivery_is_claimed_so_it_is_never_sent_twice(
    django_capture_on_commit_callbacks, sms_outbox
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        order_paid(person())
    delivery_id = Delivery.objects.get().pk

    first = services.deliveries_send(delivery_ids=[delivery_id])
    second = services.deliveries_send(delivery_ids=[delivery_id])
    callbacks[0]()

    assert (first.sent, second.sent, second.skipped) == (1, 0, 1)
    assert len(sms_outbox) == 1


def test_the_retry_task_sends_due_deliveries(
    django_capture_on_commit_callbacks, flaky_sms, settings
):
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 0
    flaky_sms.failures = 1
    with django_capture_on_commit_callbacks(execute=True):
        order_paid(person())

    counts = deliveries_retry_task.call()

    assert counts == {"sent": 1, "failed": 0, "skipped": 0}
    assert Delivery.objects.get().status == DeliveryStatus.SENT


def test_the_same_event_twice_makes_one_notification(
    django_capture_on_commit_callbacks, sms_outbox
):
    buyer, other = person(), person()
    with django_capture_on_commit_callbacks(execute=True):
        first = order_paid(buyer, dedupe_key="order.paid:T1001")
        second = order_paid(buyer, dedupe_key="order.paid:T1001", title="again")
        for_other = order_paid(other, dedupe_key="order.paid:T1001")
        plain = [order_paid(buyer), order_paid(buyer)]

    assert second.pk == first.pk and second.title == "订单已付款"
    assert for_other.pk != first.pk
    assert plain[0].pk != plain[1].pk
    assert Notification.objects.filter(user=buyer).count() == 3
    assert len(sms_outbox) == 4


@pytest.mark.parametrize(
    ("kind", "channels"),
    [
        ("order.shipped", {"sms", "email"}),
        ("payout_failed", {"sms", "email"}),
        ("review.posted", {"email"}),
        ("program.news", {"email"}),
    ],
)
def test_default_channels_by_group(kind, channels, django_capture_on_commit_callbacks):
    user = person(email="u@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        order_paid(user, kind=kind)
    assert set(Delivery.objects.values_list("channel", flat=True)) == channels


def test_channels_the_user_turned_off_are_not_used(django_capture_on_commit_callbacks, sms_outbox):
    user = person(email="u@example.com")
    services.preferences_update(
        user=user, actor=user, channels={"orders": {"sms": False}, "reviews": {"sms": True}}
    )
    with django_capture_on_commit_callbacks(execute=True):
        order_paid(user)
        order_paid(user, kind="review.posted")

    assert sms_outbox[0].kind == "review.posted" and len(sms_outbox) == 1
    assert len(mail.outbox) == 2
    assert Notification.objects.filter(user=user).count() == 2  # the inbox gets everything


def test_no_email_without_an_address_and_nothing_outside_for_an_inactive_account(
    django_capture_on_commit_callbacks,
):
    without_email = person()
    inactive = person(email="gone@example.com", is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        order_paid(without_email)
        order_paid(inactive)

    assert list(Delivery.objects.values_list("notification__user", "channel")) == [
        (without_email.pk, "sms")
    ]
    assert Notification.objects.filter(user=inactive).exists()


def test_messages_go_out_in_the_recipients_language(django_capture_on_commit_callbacks, sms_outbox):
    french = person(email="f@example.com", language="fr")
    chinese = person()

    with translation.override("en"):  # the sender's language does not matter
        with in_recipient_language(french) as language:
            title = _("Notifications")
        with django_capture_on_commit_callbacks(execute=True):
            order_paid(french, title=title, body="")
            order_paid(chinese, title="订单已付款", body="")

    assert (language, recipient_language(chinese)) == ("fr", "zh-hans")
    assert title == "Notifications"  # the same word in French
    by_user = {m.to: m for m in sms_outbox}
    assert by_user[french.phone].text.startswith("[taocun] Notifications")
    assert by_user[french.phone].language == "fr"
    assert by_user[chinese.phone].text.startswith("【淘村】订单已付款")
    assert "paramètres de notification" in mail.outbox[0].body


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "Order Paid"}, "kind"),
        ({"kind": "shop.verified"}, "kind"),
        ({"title": "  "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "//evil.example/x"}, "url"),
        ({"context": {"when": timezone.now()}}, "context"),
        ({"dedupe_key": "k" * 151}, "dedupe_key"),
    ],
)
def test_notify_refuses_bad_input_and_stores_nothing(fields, field):
    with pytest.raises(ValidationError) as caught:
        order_paid(person(), **fields)
    assert caught.value.field == field
    assert not Notification.objects.exists()


def test_mark_read_keeps_the_first_time_and_mark_all_counts():
    user, other = person(), person()
    first, second = order_paid(user), order_paid(user)
    order_paid(other)

    services.notification_mark_read(notification=first)
    read_at = first.read_at
    services.notification_mark_read(notification=first)

    assert read_at is not None and first.read_at == read_at
    assert services.notifications_mark_all_read(user=user) == 1
    second.refresh_from_db()
    assert second.read_at is not None
    assert Notification.objects.filter(user=other, read_at__isnull=True).count() == 1


def test_preferences_update_validates_and_audits():
    from taocun.core.models import AuditEntry

    user = person()
    with pytest.raises(ValidationError) as bad_email:
        services.preferences_update(user=user, actor=user, email="not an address")
    with pytest.raises(ValidationError) as bad_language:
        services.preferences_update(user=user, actor=user, language="de")
    with pytest.raises(ValidationError) as bad_group:
        services.preferences_update(user=user, actor=user, channels={"weather": {"sms": True}})
    assert (bad_email.value.field, bad_language.value.field, bad_group.value.field) == (
        "email",
        "language",
        "channels",
    )
    assert not AuditEntry.objects.exists()

    found = services.preferences_update(
        user=user, actor=user, email="me@example.com", language="en", channels={"program": {}}
    )
    services.preferences_update(user=user, actor=user, email="me@example.com")  # no change

    assert (found.email, found.language) == ("me@example.com", "en")
    entry = AuditEntry.objects.get()
    assert entry.action == "notifications.preferences_update"
    assert entry.before["email"] == "" and entry.after["email"] == "me@example.com"


def test_an_outage_schedules_one_retry_sweep_not_one_per_failure(
    django_capture_on_commit_callbacks, flaky_sms
):
    flaky_sms.failures = 10
    with django_capture_on_commit_callbacks(execute=True):
        for number in range(3):
            order_paid(person(), title=f"事件{number}")

    assert Delivery.objects.filter(status=DeliveryStatus.FAILED).count() == 3
    scheduled = DBTaskResult.objects.filter(task_path=deliveries_retry_task.module_path)
    assert scheduled.count() == 1

"""Batches racing (PostgreSQL: real row locks, one connection per thread): a dedupe key
stored by another transaction while a batch is being written, and two workers sweeping
the same pending deliveries. SQLite runs one writer at a time, so nothing races there."""

import threading
import time

import pytest
from django.db import connection, transaction

from taocun.core.tests.concurrency import at_once
from taocun.notifications import services
from taocun.notifications.models import Delivery, DeliveryStatus, Notification
from taocun.notifications.services import NotificationDraft
from taocun.notifications.tests.factories import person

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only(settings):
    if connection.vendor != "postgresql":
        pytest.skip("row-lock races need PostgreSQL; SQLite runs one writer at a time")
    settings.NOTIFICATIONS_SEND_IN_WORKER = True


def wait_for_a_lock_wait(timeout_s: float = 20) -> None:
    """Until another session of this database waits on a lock (the unique index)."""
    deadline = time.monotonic() + timeout_s
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # fresh, inside a transaction
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError("the second batch never waited on the first one's row")


def test_a_twin_committed_meanwhile_answers_for_its_key_in_the_batch():
    user = person()
    stored = threading.Event()

    def first():
        with transaction.atomic():
            notification = services.notify(
                user=user, kind="order.paid", title="先到", body="", dedupe_key="order.paid:9"
            )
            stored.set()
            wait_for_a_lock_wait()  # the batch below is blocked on this uncommitted row
        return notification

    def second():
        assert stored.wait(timeout=20)
        return services.notify_many(
            drafts=[
                NotificationDraft(
                    user=user, kind="order.paid", title="后到", dedupe_key="order.paid:9"
                ),
                NotificationDraft(user=user, kind="order.shipped", title="已发货"),
            ]
        )

    first_result, second_result = at_once(first, second)

    assert isinstance(first_result, Notification), first_result
    assert isinstance(second_result, list), second_result
    assert second_result[0].pk == first_result.pk and second_result[0].title == "先到"
    assert second_result[1].kind == "order.shipped" and second_result[1].pk is not None
    assert Notification.objects.filter(user=user).count() == 2
    assert Delivery.objects.filter(notification__user=user).count() == 2  # one SMS each


def test_two_workers_sweeping_at_once_send_each_delivery_once(sms_outbox):
    with transaction.atomic():
        services.notify_many(
            drafts=[
                NotificationDraft(user=person(), kind="order.paid", title=f"订单 {n} 已付款")
                for n in range(60)
            ]
        )

    results = at_once(services.deliveries_send_pending, services.deliveries_send_pending)

    assert all(isinstance(r, services.SendResult) for r in results), results
    assert sum(r.sent for r in results) == 60 and sum(r.failed for r in results) == 0
    assert len(sms_outbox) == 60
    assert len({m.delivery_id for m in sms_outbox}) == 60
    assert set(Delivery.objects.values_list("status", "attempts")) == {(DeliveryStatus.SENT, 1)}

"""Sending from the task worker (the default): ``notify`` stores and commits, one send
sweep waits for the worker however many batches were committed, and the worker sends them
in batches. Batches cost the same few queries whatever their size."""

from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from taocun.core.errors import ValidationError
from taocun.notifications import services
from taocun.notifications.models import Delivery, DeliveryStatus, Notification
from taocun.notifications.services import NotificationDraft
from taocun.notifications.tasks import deliveries_retry_task, deliveries_send_task
from taocun.notifications.tests.factories import person

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def send_in_worker(settings):
    settings.NOTIFICATIONS_SEND_IN_WORKER = True


def draft(user, **extra) -> NotificationDraft:
    fields = {
        "user": user,
        "kind": "order.paid",
        "title": "订单已付款",
        "body": "订单 T1001 已付款 ¥128.00",
        "url": "/market/orders/T1001/",
        "context": {"order": "T1001"},
    }
    return NotificationDraft(**{**fields, **extra})


def sweeps(status=TaskResultStatus.READY):
    return DBTaskResult.objects.filter(task_path=deliveries_send_task.module_path, status=status)


def worker_run() -> str:
    """The real worker, until the queue is empty."""
    out = StringIO()
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0, stdout=out)
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_committed_messages_wait_for_the_worker_which_sends_them(sms_outbox):
    buyer, seller = person(email="buyer@example.com"), person()

    with transaction.atomic():
        services.notify_many(drafts=[draft(buyer), draft(seller)])
    with transaction.atomic():
        services.notify(user=buyer, kind="order.shipped", title="已发货", body="")

    assert Notification.objects.count() == 3  # the inbox has them at once
    assert sms_outbox == [] and mail.outbox == []  # nothing left the request
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.PENDING}
    assert sweeps().count() == 1  # one waiting sweep for both batches

    worker_run()

    assert sorted(m.to for m in sms_outbox) == sorted([buyer.phone, buyer.phone, seller.phone])
    assert [m.to for m in mail.outbox] == [["buyer@example.com"], ["buyer@example.com"]]
    assert set(Delivery.objects.values_list("status", "attempts")) == {(DeliveryStatus.SENT, 1)}
    done = sweeps(TaskResultStatus.SUCCESSFUL).get()
    assert done.return_value == {"sent": 5, "failed": 0}


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_batch_stores_and_queues_nothing(sms_outbox):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.notify_many(drafts=[draft(person()), draft(person())])
        raise RuntimeError("the order failed after notifying")

    assert not Notification.objects.exists() and not Delivery.objects.exists()
    assert not DBTaskResult.objects.exists()
    worker_run()
    assert sms_outbox == []


def test_a_sweep_sends_at_most_its_limit_and_queues_the_next(
    django_capture_on_commit_callbacks, sms_outbox
):
    with django_capture_on_commit_callbacks(execute=False):  # stored, never dispatched
        services.notify_many(drafts=[draft(person()) for _ in range(3)])
    assert not sweeps().exists()

    first = services.deliveries_send_pending(limit=2)

    assert (first.sent, first.failed, len(sms_outbox)) == (2, 0, 2)
    assert sweeps().count() == 1  # one left: the next sweep is queued
    assert deliveries_send_task.call() == {"sent": 1, "failed": 0}
    assert len(sms_outbox) == 3 and sweeps().count() == 1  # nothing left: no new sweep


def test_a_failing_gateway_in_the_worker_is_recorded_and_retried(
    django_capture_on_commit_callbacks, flaky_sms, settings
):
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 0
    flaky_sms.failures = 1
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(user=person(), kind="payout.failed", title="提现失败", body="")

    assert deliveries_send_task.call() == {"sent": 0, "failed": 1}
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
    assert delivery.error == "ConnectionError: gateway unreachable"
    assert DBTaskResult.objects.filter(task_path=deliveries_retry_task.module_path).exists()

    assert deliveries_retry_task.call() == {"sent": 1, "failed": 0, "skipped": 0}
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 2)
    assert len(flaky_sms.sent) == 1


def _queries(call) -> int:
    with CaptureQueriesContext(connection) as queries:
        call()
    return len(queries)


def test_a_batch_costs_the_same_queries_whatever_its_size(django_capture_on_commit_callbacks):
    one = [person(email="a@example.com")]
    five = [person(email=f"u{n}@example.com") for n in range(5)]

    def store(users):
        with django_capture_on_commit_callbacks(execute=True):
            services.notify_many(drafts=[draft(user) for user in users])

    store([person()])  # enqueues the send sweep that the batches below find waiting
    services.deliveries_send_pending()

    stored, sent = [], []
    for users in (one, five):  # 2 deliveries, then 10
        stored.append(_queries(lambda users=users: store(users)))
        sent.append(_queries(services.deliveries_send_pending))

    # the recipients' settings, the notifications, the deliveries, "is a sweep waiting?"
    assert stored == [4, 4]
    # the claim (select and update, in a transaction of their own), the recipients'
    # settings, the outcomes
    assert sent == [6, 6]
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 1 + 2 + 10


def test_dedupe_keys_in_a_batch_and_already_stored_answer_with_the_first(
    django_capture_on_commit_callbacks,
):
    buyer, seller = person(), person()
    stored = services.notify(
        user=buyer, kind="order.paid", title="第一次", body="", dedupe_key="order.paid:7"
    )

    with django_capture_on_commit_callbacks(execute=True):
        results = services.notify_many(
            drafts=[
                draft(buyer, dedupe_key="order.paid:7"),  # already stored
                draft(seller, dedupe_key="order.paid:7"),  # new for the seller
                draft(seller, dedupe_key="order.paid:7", title="again"),  # twin in the batch
                draft(seller),
            ]
        )

    assert results[0] == stored and results[0].title == "第一次"
    assert results[1].pk == results[2].pk and results[1].title == "订单已付款"
    assert results[3].pk not in {results[0].pk, results[1].pk}
    assert Notification.objects.filter(user=seller).count() == 2
    assert Delivery.objects.filter(notification__user=seller).count() == 2


def test_a_bad_message_in_a_batch_is_named_and_nothing_is_stored():
    drafts = [draft(person()), draft(person(), url="javascript:x")]
    with translation.override("fr"), pytest.raises(ValidationError) as caught:
        services.notify_many(drafts=drafts)

    assert (caught.value.field, caught.value.location) == ("url", "message 2 sur 2")
    assert not Notification.objects.exists()

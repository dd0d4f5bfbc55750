"""Background work of orders (django-tasks, database backend). Checkout enqueues
:data:`checkouts_expire_due_task` at its payment deadline and delivery enqueues
:data:`orders_complete_due_task` at the automatic confirmation time, a refund request
:data:`orders_refund_due_task` at the seller's answer deadline; all are sweeps over
idempotent services, so running one twice, late or from cron (``taocun orders expire``,
``taocun orders complete-due``, ``taocun orders refund-due``) does each thing once."""

from django.utils import timezone
from django_tasks import task

from taocun.orders import services


@task()
def checkouts_expire_due_task() -> int:
    return len(services.checkouts_expire_due(now=timezone.now()))


@task()
def orders_complete_due_task() -> int:
    return len(services.orders_complete_due(now=timezone.now()))


@task()
def orders_refund_due_task() -> int:
    return len(services.orders_refund_due(now=timezone.now()))

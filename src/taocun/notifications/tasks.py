"""Background work of notifications (django-tasks, database backend).

:data:`deliveries_send_task` sends what ``notify`` stored: each committed batch of
notifications makes sure one such sweep waits for the worker, so a busy site queues one
task, not one per message. A failed delivery schedules :data:`deliveries_retry_task` for
when it is due; the same task (or ``taocun notifications retry`` from cron) is also the
sweep for deliveries left behind. Both only call services, which claim each delivery
before sending it, so runs that overlap send each message once.
"""

from django.utils import timezone
from django_tasks import task

from taocun.notifications import services


@task()
def deliveries_send_task() -> dict[str, int]:
    """Send the pending deliveries (a bounded number; another sweep follows if more wait)."""
    result = services.deliveries_send_pending()
    return {"sent": result.sent, "failed": result.failed}


@task()
def deliveries_retry_task() -> dict[str, int]:
    """Send every delivery that is due again; return the counts."""
    result = services.deliveries_retry(now=timezone.now())
    return {"sent": result.sent, "failed": result.failed, "skipped": result.skipped}

"""Background work of notifications (django-tasks, database backend).

A failed delivery schedules :data:`deliveries_retry_task` for when it is due; the same
task (or ``taocun notifications retry`` from cron) is also the sweep for deliveries left
behind. It only calls the service, which claims each delivery before sending it, so runs
that overlap send each message once.
"""

from django.utils import timezone
from django_tasks import task

from taocun.notifications import services


@task()
def deliveries_retry_task() -> dict[str, int]:
    """Send every delivery that is due again; return the counts."""
    result = services.deliveries_retry(now=timezone.now())
    return {"sent": result.sent, "failed": result.failed, "skipped": result.skipped}

"""Background work of the money core (django-tasks, database backend).

``escrow_schedule_release`` enqueues :data:`escrow_release_due_task` to run at each escrow's
``release_after``; the same task can also be run on a timer (``taocun payments release-due``
from cron) as a sweep. Both only call services, which are idempotent, so a task that runs
twice, or late, or alongside another, releases each escrow once.
"""

from django.utils import timezone
from django_tasks import task

from taocun.payments import services


@task()
def escrow_release_due_task() -> int:
    """Release every escrow that is due now; return how many were released."""
    return len(services.escrow_release_due(now=timezone.now()))


@task()
def callback_nonces_prune_task() -> int:
    return services.callback_nonces_prune(now=timezone.now())

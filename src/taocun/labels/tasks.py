"""Background work of the labels app (django-tasks, database backend): a thin interface
over :func:`taocun.labels.services.evaluation_execute`."""

from django_tasks import task

from taocun.labels.services import evaluation_execute


@task()
def evaluation_run_task(evaluation_id: int) -> None:
    """Run a queued evaluation of the platform database and store its results.

    Progress is kept on the ``Evaluation`` row (``progress``, ``progress_note``); a failure
    leaves it ``failed`` with the error and no results.
    """
    evaluation_execute(evaluation_id=evaluation_id)

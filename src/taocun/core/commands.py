"""The CLI side of the error family: a base command that turns ApplicationError into a
clean message and a non-zero exit (no traceback), and a progress bar that goes to stderr."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from taocun.core.errors import ApplicationError


class TaocunCommand(BaseCommand):
    # Django's system checks (URL namespaces, models, settings) import every view and API
    # module: about half a second before a batch command starts its work. They still run in
    # `taocun check`, before `runserver` and in the tests; batch commands skip them.
    requires_system_checks = []

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except ApplicationError as error:
            raise CommandError(str(error), returncode=2) from error


@contextmanager
def progress_bar(
    *, total: int | None, unit: str, desc: str, disable: bool = False
) -> Iterator[tqdm]:
    """A tqdm bar on stderr; ``disable`` for quiet runs (``--no-progress``)."""
    bar = tqdm(total=total, unit=unit, unit_scale=True, desc=desc, disable=disable, leave=True)
    try:
        yield bar
    finally:
        bar.close()

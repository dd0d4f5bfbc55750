"""``published_list_reconcile``: match a published list of Taobao villages to division codes,
and compare it with a stored evaluation.

It reads the platform database and files and writes only its report files, so it keeps no
audit record (nothing the platform holds changes).
"""

import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from django.utils.translation import gettext as _

from taocun.core.commands import progress_bar
from taocun.core.errors import ValidationError
from taocun.labels.reconcile.agreement import (
    Agreement,
    agreement_compute,
    evaluation_for_agreement,
)
from taocun.labels.reconcile.index import index_from_database, index_from_file
from taocun.labels.reconcile.listfile import read_list
from taocun.labels.reconcile.matching import (
    AMBIGUOUS,
    MATCHED,
    UNMATCHED,
    RowMatch,
    reconcile_rows,
)
from taocun.labels.reconcile.report import reconcile_report_write, unlisted_write

DATABASE_SOURCE = "db"


@dataclass(frozen=True)
class ReconcileResult:
    """What a reconciliation found; ``matches`` are in list order."""

    path: str
    divisions: str  # "db" or the divisions file
    divisions_indexed: int  # nodes of the provinces the list needs
    matches: tuple[RowMatch, ...]
    agreement: Agreement | None
    seconds: float

    @property
    def rows(self) -> int:
        return len(self.matches)

    def count(self, status: str) -> int:
        return sum(match.status == status for match in self.matches)

    @property
    def matched(self) -> int:
        return self.count(MATCHED)

    @property
    def ambiguous(self) -> int:
        return self.count(AMBIGUOUS)

    @property
    def unmatched(self) -> int:
        return self.count(UNMATCHED)

    @property
    def match_rate(self) -> float:
        return self.matched / self.rows if self.rows else 0.0

    @property
    def methods(self) -> Counter:
        """Matched rows by method, most common first."""
        return Counter(match.method for match in self.matches if match.status == MATCHED)

    @property
    def reasons(self) -> Counter:
        """Ambiguous and unmatched rows by reason."""
        return Counter(match.reason for match in self.matches if match.status != MATCHED)


def published_list_reconcile(
    *,
    path: str | Path,
    divisions_path: str | Path | None = None,
    evaluation_id: int | None = None,
    report_path: str | Path | None = None,
    report_stream: TextIO | None = None,
    unlisted_path: str | Path | None = None,
    progress: bool = False,
) -> ReconcileResult:
    """Match every row of the list at ``path`` to a village code (see ``matching``).

    Divisions come from ``divisions_path`` (a divisions file) or else the platform database;
    either way only the provinces the list names are indexed. With ``evaluation_id`` the
    stored evaluation's labels are compared with the list (``agreement``). The report (one
    row per list row) goes to ``report_path`` or ``report_stream``; the evaluation's
    labelled villages that the list lacks go to ``unlisted_path``.
    """
    started = time.perf_counter()
    report_target = _writable(report_path, field="report")
    unlisted_target = _writable(unlisted_path, field="unlisted")
    if unlisted_target is not None and evaluation_id is None:
        raise ValidationError(
            _("the list of unlisted labelled villages needs an evaluation"), field="unlisted"
        )
    rows = read_list(path)
    evaluation = (
        evaluation_for_agreement(evaluation_id=evaluation_id) if evaluation_id is not None else None
    )
    provinces = {row.province for row in rows}
    if divisions_path is not None:
        index = index_from_file(path=divisions_path, province_names=provinces, progress=progress)
    else:
        index = index_from_database(province_names=provinces)
    with progress_bar(
        total=len(rows), unit="row", desc=Path(path).name, disable=not progress
    ) as bar:
        matches = reconcile_rows(index, rows, on_row=lambda: bar.update(1))
    agreement = None
    if evaluation is not None:
        agreement = agreement_compute(
            evaluation=evaluation,
            listed_codes=[match.code for match in matches if match.status == MATCHED],
            unresolved_rows=sum(match.status != MATCHED for match in matches),
        )
    if report_stream is not None:
        reconcile_report_write(matches=matches, agreement=agreement, stream=report_stream)
    if report_target is not None:
        with _replacing(report_target) as stream:
            reconcile_report_write(matches=matches, agreement=agreement, stream=stream)
    if unlisted_target is not None and agreement is not None:
        unlisted_write(agreement=agreement, path=unlisted_target)
    return ReconcileResult(
        path=str(path),
        divisions=str(divisions_path) if divisions_path is not None else DATABASE_SOURCE,
        divisions_indexed=len(index),
        matches=tuple(matches),
        agreement=agreement,
        seconds=round(time.perf_counter() - started, 3),
    )


def _writable(path: str | Path | None, *, field: str) -> Path | None:
    """Check an output path before the work, not after it."""
    if path is None:
        return None
    path = Path(path)
    if path.is_dir() or not path.parent.is_dir():
        raise ValidationError(
            _("%(path)s: cannot write a file there") % {"path": path}, field=field
        )
    return path


class _replacing:
    """A text stream to a temporary file that replaces ``path`` only when complete, so a
    failed run never leaves half a report."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> TextIO:
        handle, self.temporary = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
        )
        self.stream = os.fdopen(handle, "w", encoding="utf-8", newline="")
        return self.stream

    def __exit__(self, exc_type, *exc_info) -> None:
        self.stream.close()
        if exc_type is None:
            os.replace(self.temporary, self.path)
        else:
            os.unlink(self.temporary)

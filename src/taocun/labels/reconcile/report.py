"""The reconciliation report: one CSV row per list row, in list order.

Columns: ``line`` (of the list file), the list's own columns as read, then ``status``
(matched / ambiguous / unmatched), ``code``, ``matched_path`` (the matched division's names
from the province down, joined by `` / ``), ``method``, ``reason``, ``candidates`` (codes,
``;``-separated), ``duplicate_of`` (the first line naming the same village), ``message``
(in the user's language) and, with an evaluation, ``labeled`` (``true``/``false``, empty when
the evaluation has no result for the village). The file is UTF-8 with a header row and
``\\r\\n`` line ends, like every CSV the platform writes.
"""

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from taocun.labels.reconcile.agreement import Agreement
from taocun.labels.reconcile.listfile import LIST_COLUMNS
from taocun.labels.reconcile.matching import RowMatch

REPORT_COLUMNS = (
    "status",
    "code",
    "matched_path",
    "method",
    "reason",
    "candidates",
    "duplicate_of",
    "message",
)
UNLISTED_COLUMNS = ("code", "name")


def report_columns(matches: Sequence[RowMatch], *, with_agreement: bool) -> list[str]:
    extra: list[str] = []
    for match in matches:
        extra += [name for name in match.row.extra if name not in extra]
    columns = ["line", *LIST_COLUMNS, *extra, *REPORT_COLUMNS]
    return [*columns, "labeled"] if with_agreement else columns


def reconcile_report_write(
    *, matches: Sequence[RowMatch], agreement: Agreement | None, stream: TextIO
) -> int:
    """Write the report to an open text stream; return the number of rows written."""
    columns = report_columns(matches, with_agreement=agreement is not None)
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(columns)
    for match in matches:
        row = match.row
        values = {
            "line": row.line,
            **{name: getattr(row, name) for name in LIST_COLUMNS},
            **row.extra,
            "status": match.status,
            "code": match.code,
            "matched_path": " / ".join(match.path),
            "method": match.method,
            "reason": match.reason,
            "candidates": ";".join(match.candidates),
            "duplicate_of": match.duplicate_of or "",
            "message": match.message,
        }
        if agreement is not None:
            labeled = agreement.labeled_by_code.get(match.code) if match.code else None
            values["labeled"] = "" if labeled is None else ("true" if labeled else "false")
        writer.writerow([values.get(name, "") for name in columns])
    return len(matches)


def unlisted_write(*, agreement: Agreement, path: Path) -> int:
    """The evaluation's labelled villages that the list does not have (false positives)."""
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\r\n")
        writer.writerow(UNLISTED_COLUMNS)
        writer.writerows(agreement.unlisted)
    return len(agreement.unlisted)

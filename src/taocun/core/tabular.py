"""Reading tabular import files (CSV, gzipped CSV, Parquet) row by row, and staging them.

Shared by every bulk import (divisions, shops, orders, currency rates). What it gives:

* :func:`open_table` picks the reader by the file's first bytes, not its name, and yields
  ``(line, values)`` with values as text, whatever the format: a Parquet decimal, timestamp
  or integer arrives as the text a CSV would hold, so one checker serves both formats.
  Lines are numbered as in the CSV file (header = line 1); Parquet rows as in the
  equivalent CSV.
* Undecodable bytes survive as lone surrogates (``surrogateescape``), so a GBK file is
  reported field by field with its line (:data:`NOT_UTF8`, :func:`not_utf8_reason`)
  instead of failing once for the whole file.
* :class:`ErrorLog` collects :class:`RowError` up to a limit and raises
  :class:`ImportRejected`.
* :class:`StagingWriter` streams checked rows into a temporary staging table: ``COPY`` on
  PostgreSQL, batched ``executemany`` on SQLite. Set-based checks and one upsert then run in
  SQL, so Python never holds a file's rows.
"""

import csv
import gzip
import io
import operator
import re
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from django.db import connection
from django.utils.translation import gettext as _

from taocun.core.commands import progress_bar
from taocun.core.errors import ImportRejected, RowError

GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
ZIP_MAGIC = b"PK\x03\x04"

SQLITE_BATCH_ROWS = 5_000
PARQUET_BATCH_ROWS = 20_000
PROGRESS_EVERY_ROWS = 4_096

NOT_UTF8 = re.compile("[\udc80-\udcff]")  # what surrogateescape makes of undecodable bytes


def not_utf8_reason() -> str:
    return _("not valid UTF-8 (is the file GBK-encoded? save it as UTF-8)")


def binary_reason() -> str:
    return _("binary data, not text (UTF-16?): expected CSV UTF-8, gzipped CSV or Parquet")


def nul_reason() -> str:
    return _("contains a NUL character (a zero byte), which text cannot hold")


UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")  # also the start of a UTF-32 byte-order mark
UTF16_NUL_SHARE = 0.1


def looks_like_utf16(head: bytes) -> bool:
    """Whether the first bytes of a file are UTF-16 (or UTF-32) text rather than UTF-8.

    A byte-order mark says so; without one, ASCII in UTF-16 (a header, codes, commas) puts a
    NUL at every other byte, so NULs are many, or they line up on one parity in the first
    line. One stray NUL in a UTF-8 file is none of these: it is reported at its own line and
    field instead of condemning the whole file.
    """
    if head.startswith(UTF16_BOMS):
        return True
    nuls = head.count(0)
    if not nuls:
        return False
    if nuls > len(head) * UTF16_NUL_SHARE:
        return True
    first = head[:64]
    even, odd = first[0::2], first[1::2]
    return max(even.count(0), odd.count(0)) * 2 >= max(len(odd), 2)


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


# --- errors -------------------------------------------------------------------------------


class ErrorLog:
    """Bad rows collected up to a limit; one more than the limit marks the list truncated."""

    def __init__(self, *, path: str, limit: int) -> None:
        self.path = path
        self.limit = limit
        self.items: list[RowError] = []
        self.truncated = False

    @property
    def room(self) -> int:
        """How many more errors a SQL check should fetch (one extra detects truncation)."""
        return max(self.limit - len(self.items) + 1, 1)

    def add(self, error: RowError) -> None:
        if len(self.items) >= self.limit:
            self.truncated = True
        else:
            self.items.append(error)

    def raise_if_any(self) -> None:
        if self.items:
            self.items.sort(key=lambda error: error.line)
            raise ImportRejected(self.path, self.items, truncated=self.truncated)

    def reject_now(self, error: RowError) -> ImportRejected:
        """For a file that cannot be read on: add the error and give up."""
        self.add(error)
        self.items.sort(key=lambda error: error.line)
        return ImportRejected(self.path, self.items, truncated=self.truncated)


# --- reading --------------------------------------------------------------------------------


class FileBroken(Exception):
    """The file stops being readable at ``line`` (corrupt gzip, binary data, ...)."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


@dataclass
class Table:
    """A header and a stream of ``(line, values)``, whatever the file format.

    ``position`` reports progress in ``unit`` towards ``total`` (bytes of the file as stored,
    compressed for gzip, so the bar has a real end; rows for Parquet).
    """

    header: list[str]
    rows: Iterator[tuple[int, list[str]]]
    total: int | None
    unit: str
    position: Callable[[], int]
    close: Callable[[], None]


def open_table(path: Path, errors: ErrorLog) -> Table:
    """Pick the reader by the file's first bytes, not its name: a ``.csv`` that is really
    gzipped, or a gzip without ``.gz``, is read correctly."""
    with path.open("rb") as probe:
        head = probe.read(4096)
    magic = head[:4]
    if not magic:
        raise errors.reject_now(RowError(line=1, field="file", reason=_("the file is empty")))
    if magic == PARQUET_MAGIC:
        return _open_parquet(path, errors)
    if magic == ZIP_MAGIC:
        raise errors.reject_now(
            RowError(
                line=1,
                field="file",
                reason=_("this is a zip file (an Excel workbook?); save it as CSV UTF-8"),
            )
        )
    gzipped = magic[:2] == GZIP_MAGIC
    if not gzipped and looks_like_utf16(head):
        raise errors.reject_now(RowError(line=1, field="file", reason=binary_reason()))
    return _open_csv(path, errors, gzipped=gzipped)


def _open_csv(path: Path, errors: ErrorLog, *, gzipped: bool) -> Table:
    raw: BinaryIO = path.open("rb")
    binary: BinaryIO = gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw
    # surrogateescape keeps undecodable bytes as lone surrogates, so a GBK file still parses
    # and each bad field can be reported with its line instead of one decode error for all.
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = csv.reader(text, strict=True)

    def close() -> None:
        text.close()
        raw.close()  # GzipFile leaves the file object it was given open

    try:
        header = _next_record(reader, gzipped)
    except FileBroken as broken:
        close()
        raise errors.reject_now(
            RowError(line=broken.line, field="file", reason=broken.reason)
        ) from broken
    if header is None:
        close()
        raise errors.reject_now(RowError(line=1, field="file", reason=_("the file is empty")))
    if any("\x00" in name for name in header):
        close()
        raise errors.reject_now(RowError(line=1, field="header", reason=nul_reason()))

    def rows() -> Iterator[tuple[int, list[str]]]:
        line = reader.line_num + 1
        while (values := _next_record(reader, gzipped)) is not None:
            # A blank line is not a row, nor is one of empty fields (Excel ends with ",,,").
            if "".join(values).strip():  # = any(v.strip() ...), several times faster
                yield line, values
            line = reader.line_num + 1

    return Table(
        header=header,
        rows=rows(),
        total=path.stat().st_size,
        unit="B",
        position=raw.tell,
        close=close,
    )


def _next_record(reader: Any, gzipped: bool) -> list[str] | None:
    try:
        return next(reader)
    except StopIteration:
        return None
    except csv.Error as error:
        line = reader.line_num or 1
        if "NUL" in str(error):  # Python < 3.11 refuses NUL in CSV
            raise FileBroken(line, nul_reason()) from error
        raise FileBroken(line, _("not valid CSV: %(error)s") % {"error": error}) from error
    except (OSError, EOFError, zlib.error) as error:
        what = _("the gzip data is corrupt or truncated") if gzipped else _("cannot read the file")
        raise FileBroken(reader.line_num + 1, f"{what} ({error})") from error


def _open_parquet(path: Path, errors: ErrorLog) -> Table:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as error:
        reason = _("not a valid Parquet file (%(error)s)") % {"error": error}
        raise errors.reject_now(RowError(line=1, field="file", reason=reason)) from error
    header = list(parquet.schema_arrow.names)
    done = [0]

    def rows() -> Iterator[tuple[int, list[str]]]:
        # Lines are numbered as in the equivalent CSV file: the first row is line 2.
        line = 2
        try:
            for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
                columns = [_column_as_text(column) for column in batch.columns]
                for values in zip(*columns, strict=True):
                    yield line, list(values)
                    line += 1
                done[0] += batch.num_rows
        except (pa.ArrowException, OSError) as error:
            raise FileBroken(
                line, _("the Parquet data is corrupt (%(error)s)") % {"error": error}
            ) from error

    return Table(
        header=header,
        rows=rows(),
        total=parquet.metadata.num_rows,
        unit="row",
        position=lambda: done[0],
        close=parquet.close,
    )


def _column_as_text(column: Any) -> list[str]:
    """A Parquet column as the texts a CSV would hold, so both formats share one checker.

    Strings pass through; decimals keep their scale (``12.30``); timestamps become ISO 8601
    (``2016-01-01 10:00:00.123000``, with ``Z`` or ``+0800`` when the column has a time zone);
    dates ``2016-01-01``; floats their shortest round-tripping form; null the empty string.
    Timestamps, dates, decimals and integers are converted by Arrow, in C, not value by value.
    """
    import pyarrow as pa

    kind = column.type
    if (
        pa.types.is_timestamp(kind)
        or pa.types.is_date(kind)
        or pa.types.is_decimal(kind)
        or pa.types.is_integer(kind)
    ):
        column = column.cast(pa.string())
        kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return [value if value is not None else "" for value in column.to_pylist()]
    return [as_text(value) for value in column.to_pylist()]


def as_text(value: Any) -> str:
    """One Parquet cell as the text a CSV would hold."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


# --- header and rows -------------------------------------------------------------------------


def check_header(
    header: list[str],
    *,
    required: Sequence[str],
    optional: Sequence[str],
    errors: ErrorLog,
) -> tuple[str, ...]:
    """The file's columns in file order, trimmed; problems are reported on line 1: a name
    that is not UTF-8, an unknown or repeated column, a missing required column."""
    known = (*required, *optional)
    names = [name.strip() for name in header]
    seen: set[str] = set()
    for name in names:
        if NOT_UTF8.search(name):
            errors.add(RowError(line=1, field="header", reason=not_utf8_reason()))
        elif name not in known:
            errors.add(
                RowError(
                    line=1,
                    field=name,
                    reason=_("unknown column (expected some of: %(columns)s)")
                    % {"columns": ",".join(known)},
                )
            )
        elif name in seen:
            errors.add(RowError(line=1, field=name, reason=_("the column appears twice")))
        seen.add(name)
    for name in required:
        if name not in seen:
            errors.add(RowError(line=1, field=name, reason=_("required column missing")))
    return tuple(names)


def stream_rows(
    table: Table,
    *,
    columns: Sequence[str],
    order: Sequence[str],
    check_row: Callable[[int, Sequence[str]], tuple | None],
    write: Callable[[tuple], None],
    errors: ErrorLog,
    progress: bool,
    desc: str,
) -> int:
    """Check each row and write what ``check_row`` returns; return the number of rows.

    ``columns`` are the file's columns (file order), ``order`` every column the checker
    knows, in the order it wants them: a column the file lacks arrives as ``""``. A row
    with the wrong number of fields is reported and skipped. Stops at the error limit.
    """
    position = {name: index for index, name in enumerate(columns)}
    width = len(columns)
    # A column the file lacks is read from one "" appended after the row's own fields.
    picks = [position.get(name, width) for name in order]
    complete = picks == list(range(width))
    pick = operator.itemgetter(*picks) if len(picks) > 1 else lambda row: (row[picks[0]],)
    rows = 0
    with progress_bar(total=table.total, unit=table.unit, desc=desc, disable=not progress) as bar:
        shown = 0
        try:
            for line, values in table.rows:
                rows += 1
                if len(values) != width:
                    errors.add(
                        RowError(
                            line=line,
                            field="row",
                            reason=_("expected %(expected)d fields, found %(found)d")
                            % {"expected": width, "found": len(values)},
                        )
                    )
                else:
                    if not complete:
                        values.append("")
                        values = pick(values)
                    staged = check_row(line, values)
                    if staged is not None:
                        write(staged)
                if errors.truncated:
                    break
                if not rows % PROGRESS_EVERY_ROWS:
                    now = table.position()
                    bar.update(now - shown)
                    shown = now
        except FileBroken as broken:
            errors.add(RowError(line=broken.line, field="file", reason=broken.reason))
        if not errors.truncated and table.total is not None:
            bar.update(table.total - shown)
        bar.set_postfix_str(_("checking"))
    return rows


# --- staging -------------------------------------------------------------------------------


def create_staging(table: str, definition: str) -> None:
    """(Re)create a temporary staging table; ``definition`` is the column list."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(f"CREATE TEMPORARY TABLE {table} ({definition})")


def drop_staging(table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")


class StagingWriter:
    """Rows into a staging table: COPY on PostgreSQL, batched executemany on SQLite.

    Values are Python objects (str, int, datetime, ``None`` for NULL); on SQLite they go
    through Django's cursor, so they get the same adaptation as the ORM's.
    """

    def __init__(
        self, table: str, columns: Sequence[str], *, pg_types: Sequence[str] | None = None
    ) -> None:
        self.table = table
        self.columns = tuple(columns)
        # With the columns' PostgreSQL types, COPY goes in binary: the server then parses no
        # text (timestamps especially), which makes staging markedly faster.
        self.pg_types = tuple(pg_types) if pg_types else None

    def __enter__(self) -> "StagingWriter":
        self._cursor = connection.cursor()
        names = ", ".join(self.columns)
        if is_postgresql():
            binary = " (FORMAT BINARY)" if self.pg_types else ""
            self._copy_context = self._cursor.cursor.copy(
                f"COPY {self.table} ({names}) FROM STDIN{binary}"
            )
            copy = self._copy_context.__enter__()
            if self.pg_types:
                copy.set_types(self.pg_types)
            self.write = copy.write_row
        else:
            self._copy_context = None
            self._batch: list[tuple] = []
            marks = ", ".join(["?"] * len(self.columns))
            self._sql = f"INSERT INTO {self.table} ({names}) VALUES ({marks})"
            # The raw sqlite3 cursor: Django's wrapper would rewrite %s for every batch.
            self._raw = self._cursor.cursor
        return self

    def write(self, row: tuple) -> None:
        self._batch.append(row)
        if len(self._batch) >= SQLITE_BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._batch:
            self._raw.executemany(self._sql, self._batch)
            self._batch = []

    def __exit__(self, *exc_info) -> None:
        try:
            if self._copy_context is not None:
                self._copy_context.__exit__(*exc_info)
            elif exc_info[0] is None:
                self._flush()
        finally:
            self._cursor.close()

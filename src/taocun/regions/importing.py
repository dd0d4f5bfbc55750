"""The divisions import: a CSV, gzipped CSV or Parquet file into the division tree.

Why it is built this way:

* **Constant memory.** The national file has 713,034 rows. Rows are checked one at a time in
  Python (everything a row can tell about itself: code, level, parent shape, numbers) and
  streamed into a temporary staging table; checks that need other rows (duplicate codes,
  parents present in the file or the database) run afterwards as SQL over that table. Python
  never holds the rows, their codes or a set of them.
* **Atomic.** Staging, checks, the upsert and the audit entry share one transaction; any bad
  row raises :class:`ImportRejected` inside it, so a file with one bad row writes nothing.
* **Idempotent.** The upsert only rewrites rows whose values differ, so importing the same
  file twice changes nothing, and the counts say what happened.
* **Columns the file does not carry are left alone.** The national table has no households or
  poverty columns; importing it must not erase what another file (or the demo) set.

The format is a public contract, documented in ``docs/formats.md``.
"""

import csv
import gzip
import io
import math
import re
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from django.db import connection, transaction
from django.utils.translation import gettext as _

from taocun.core.commands import progress_bar
from taocun.core.errors import ImportRejected, RowError, ValidationError
from taocun.core.services import audit_record
from taocun.regions.codes import (
    LEVEL_DEPTH,
    LEVELS,
    expected_level,
    is_consistent_parent,
    is_valid_code,
)
from taocun.regions.models import Level

REQUIRED_COLUMNS = ("code", "name", "level", "parent_code")
OPTIONAL_COLUMNS = ("ur_code", "households", "lat", "lon", "poverty", "poverty_exit_year")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
POVERTY_VALUES = ("national", "provincial")
NAME_MAX_LENGTH = 100
HOUSEHOLDS_MAX = 2_147_483_647  # PositiveIntegerField's ceiling on every backend
YEAR_MIN, YEAR_MAX = 1980, 2100


def _level_label(level: str) -> str:
    """The level's name in the user's language, for messages."""
    return str(Level(level).label) if level in Level.values else level


GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
ZIP_MAGIC = b"PK\x03\x04"

STAGING_TABLE = "regions_division_import"
# line, then the model's columns, then the level the parent's code implies.
STAGING_COLUMNS = ("line", *COLUMNS, "parent_level")
SQLITE_BATCH_ROWS = 5_000
PARQUET_BATCH_ROWS = 20_000
PROGRESS_EVERY_ROWS = 4_096

_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # what surrogateescape makes of undecodable bytes
_UR_CODE = re.compile(r"^[12]\d\d$")
_DIGITS = re.compile(r"^\d+$")


@dataclass(frozen=True)
class ImportSummary:
    """What an import did; ``rows`` counts the data rows read."""

    path: str
    rows: int
    inserted: int
    updated: int
    unchanged: int
    seconds: float
    dry_run: bool = False

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def divisions_import(
    *,
    path: str | Path,
    max_errors: int = 100,
    progress: bool = False,
    dry_run: bool = False,
    actor: Any | None = None,
) -> ImportSummary:
    """Import a divisions file: insert new codes, update changed ones, all or nothing.

    Raises :class:`ImportRejected` listing every bad row (line, field, reason) up to
    ``max_errors``; nothing is written then. ``dry_run`` checks and counts, then rolls back.
    One audit entry records each successful (non-dry) import.
    """
    if max_errors < 1:
        raise ValidationError(_("max_errors must be at least 1"), field="max_errors")
    path = Path(path)
    if not path.is_file():
        raise ValidationError(_("%(path)s: no such file") % {"path": path}, field="file")
    started = time.perf_counter()
    errors = _ErrorLog(path=str(path), limit=max_errors)
    with transaction.atomic():
        table = _open_table(path, errors)
        try:
            columns = _check_header(table.header, errors)
            errors.raise_if_any()
            rows = _stage_rows(table, columns, errors, progress=progress, desc=path.name)
        finally:
            table.close()
        if rows == 0 and not errors.items:
            errors.add(RowError(line=1, field="file", reason=_("the file has no data rows")))
        if not errors.truncated:
            _check_staged(errors)
        errors.raise_if_any()
        inserted, changed = _upsert(columns)
        _drop_staging()
        summary = ImportSummary(
            path=str(path),
            rows=rows,
            inserted=inserted,
            updated=changed - inserted,
            unchanged=rows - changed,
            seconds=round(time.perf_counter() - started, 3),
            dry_run=dry_run,
        )
        if dry_run:
            transaction.set_rollback(True)
        else:
            audit_record(
                actor=actor,
                action="regions.divisions_import",
                object_type="regions.division",
                object_id=path.name[:64],
                after={
                    "file": str(path),
                    "columns": list(columns),
                    "rows": summary.rows,
                    "inserted": summary.inserted,
                    "updated": summary.updated,
                    "unchanged": summary.unchanged,
                },
            )
    return summary


# --- errors -------------------------------------------------------------------------------


class _ErrorLog:
    """Bad rows collected up to a limit; one more than the limit marks the list truncated."""

    def __init__(self, *, path: str, limit: int) -> None:
        self.path = path
        self.limit = limit
        self.items: list[RowError] = []
        self.truncated = False

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


class _FileBroken(Exception):
    """The file stops being readable at ``line`` (corrupt gzip, binary data, ...)."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


@dataclass
class _Table:
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


def _open_table(path: Path, errors: _ErrorLog) -> _Table:
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
    if not gzipped and b"\x00" in head:
        raise errors.reject_now(RowError(line=1, field="file", reason=_binary_reason()))
    return _open_csv(path, errors, gzipped=gzipped)


def _binary_reason() -> str:
    return _("binary data, not text (UTF-16?): expected CSV UTF-8, gzipped CSV or Parquet")


def _open_csv(path: Path, errors: _ErrorLog, *, gzipped: bool) -> _Table:
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
    except _FileBroken as broken:
        close()
        raise errors.reject_now(
            RowError(line=broken.line, field="file", reason=broken.reason)
        ) from broken
    if header is None:
        close()
        raise errors.reject_now(RowError(line=1, field="file", reason=_("the file is empty")))
    if any("\x00" in name for name in header):
        close()
        raise errors.reject_now(RowError(line=1, field="file", reason=_binary_reason()))

    def rows() -> Iterator[tuple[int, list[str]]]:
        line = reader.line_num + 1
        while (values := _next_record(reader, gzipped)) is not None:
            if values:  # a blank line is not a row
                yield line, values
            line = reader.line_num + 1

    return _Table(
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
        if "NUL" in str(error):
            raise _FileBroken(line, _binary_reason()) from error
        raise _FileBroken(line, _("not valid CSV: %(error)s") % {"error": error}) from error
    except (OSError, EOFError, zlib.error) as error:
        what = _("the gzip data is corrupt or truncated") if gzipped else _("cannot read the file")
        raise _FileBroken(reader.line_num + 1, f"{what} ({error})") from error


def _open_parquet(path: Path, errors: _ErrorLog) -> _Table:
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
                columns = [[_as_text(v) for v in column.to_pylist()] for column in batch.columns]
                for values in zip(*columns, strict=True):
                    yield line, list(values)
                    line += 1
                done[0] += batch.num_rows
        except (pa.ArrowException, OSError) as error:
            raise _FileBroken(
                line, _("the Parquet data is corrupt (%(error)s)") % {"error": error}
            ) from error

    return _Table(
        header=header,
        rows=rows(),
        total=parquet.metadata.num_rows,
        unit="row",
        position=lambda: done[0],
        close=parquet.close,
    )


def _as_text(value: Any) -> str:
    """Parquet cells as the text a CSV would hold, so both formats share one checker."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


# --- checking one row ----------------------------------------------------------------------


def _check_header(header: list[str], errors: _ErrorLog) -> tuple[str, ...]:
    """The file's columns in file order; every problem is reported on line 1."""
    names = [name.strip() for name in header]
    seen: set[str] = set()
    for name in names:
        if _NOT_UTF8.search(name):
            errors.add(RowError(line=1, field="header", reason=_not_utf8_reason()))
        elif name not in COLUMNS:
            errors.add(
                RowError(
                    line=1,
                    field=name,
                    reason=_("unknown column (expected some of: %(columns)s)")
                    % {"columns": ",".join(COLUMNS)},
                )
            )
        elif name in seen:
            errors.add(RowError(line=1, field=name, reason=_("the column appears twice")))
        seen.add(name)
    for name in REQUIRED_COLUMNS:
        if name not in seen:
            errors.add(RowError(line=1, field=name, reason=_("required column missing")))
    if ("lat" in seen) != ("lon" in seen):
        errors.add(
            RowError(
                line=1,
                field="lat" if "lon" in seen else "lon",
                reason=_("lat and lon come together: add the other one"),
            )
        )
    if "poverty_exit_year" in seen and "poverty" not in seen:
        errors.add(
            RowError(
                line=1, field="poverty", reason=_("poverty_exit_year needs the poverty column")
            )
        )
    return tuple(names)


def _not_utf8_reason() -> str:
    return _("not valid UTF-8 (is the file GBK-encoded? save it as UTF-8)")


def _stage_rows(
    table: _Table, columns: tuple[str, ...], errors: _ErrorLog, *, progress: bool, desc: str
) -> int:
    """Check each row and stream it into the staging table; return the number of rows."""
    position = {name: index for index, name in enumerate(columns)}
    width = len(columns)
    picks = [position.get(name) for name in COLUMNS]
    rows = 0
    _create_staging()
    with (
        _StagingWriter() as staging,
        progress_bar(total=table.total, unit=table.unit, desc=desc, disable=not progress) as bar,
    ):
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
                    staged = _check_row(
                        line, [values[i] if i is not None else "" for i in picks], columns, errors
                    )
                    if staged is not None:
                        staging.write(staged)
                if errors.truncated:
                    break
                if not rows % PROGRESS_EVERY_ROWS:
                    now = table.position()
                    bar.update(now - shown)
                    shown = now
        except _FileBroken as broken:
            errors.add(RowError(line=broken.line, field="file", reason=broken.reason))
        if not errors.truncated and table.total is not None:
            bar.update(table.total - shown)
        bar.set_postfix_str(_("checking"))
    return rows


def _check_row(
    line: int, values: list[str], columns: tuple[str, ...], errors: _ErrorLog
) -> tuple | None:
    """Check one row; add its errors; return the staging tuple when its code is usable.

    A row with a good code is staged even when other fields are bad, so that its children
    do not get a misleading "parent missing" and duplicates are still found.
    """
    if _NOT_UTF8.search("".join(values)):
        for name, value in zip(COLUMNS, values, strict=True):
            if _NOT_UTF8.search(value):
                errors.add(RowError(line=line, field=name, reason=_not_utf8_reason()))
        return None
    code, name, level, parent_code, ur_code, households, lat, lon, poverty, exit_year = (
        value.strip() for value in values
    )
    ok = True

    def bad(field: str, reason: str, value: str) -> None:
        nonlocal ok
        ok = False
        errors.add(RowError(line=line, field=field, reason=reason, value=value))

    if not is_valid_code(code):
        bad("code", _("not a 12-digit division code"), code)
        return None
    if not name:
        bad("name", _("the name is required"), name)
    elif len(name) > NAME_MAX_LENGTH:
        bad("name", _("longer than %(max)d characters") % {"max": NAME_MAX_LENGTH}, name)
    parent_level = staged_parent = None
    if level not in LEVEL_DEPTH:
        bad(
            "level",
            _("unknown level (expected one of %(levels)s)") % {"levels": "|".join(LEVELS)},
            level,
        )
    elif level != (code_level := expected_level(code)):
        bad(
            "level",
            _("the code %(code)s is a %(expected)s code")
            % {"code": code, "expected": _level_label(code_level)},
            level,
        )
    elif level == "province":
        if parent_code:
            bad("parent_code", _("a province has no parent"), parent_code)
    elif not parent_code:
        bad(
            "parent_code",
            _("a %(level)s needs a parent") % {"level": _level_label(level)},
            parent_code,
        )
    elif not is_valid_code(parent_code):
        bad("parent_code", _("not a 12-digit division code"), parent_code)
    else:
        parent_level = expected_level(parent_code)
        if LEVEL_DEPTH[parent_level] >= LEVEL_DEPTH[level]:
            bad(
                "parent_code",
                _("the parent is a %(parent)s, not above a %(level)s")
                % {"parent": _level_label(parent_level), "level": _level_label(level)},
                parent_code,
            )
        elif not is_consistent_parent(code, parent_code, parent_level):
            bad(
                "parent_code",
                _("the parent's code is not a prefix of %(code)s") % {"code": code},
                parent_code,
            )
        else:
            staged_parent = parent_code  # only a well-formed parent is looked up in SQL
    if ur_code and not _UR_CODE.match(ur_code):
        bad("ur_code", _("expected 3 digits, 1xx (urban) or 2xx (rural)"), ur_code)
    households_number = None
    if households:
        if _DIGITS.match(households) and int(households) <= HOUSEHOLDS_MAX:
            households_number = int(households)
        else:
            bad("households", _("expected a whole number of households, 0 or more"), households)
    lat_number = _coordinate(lat, "lat", 90, bad)
    lon_number = _coordinate(lon, "lon", 180, bad)
    if (lat_number is None) != (lon_number is None) and (lat or lon) and ok:
        bad("lon" if lat else "lat", _("lat and lon come together: fill in both or neither"), "")
    if poverty:
        if poverty not in POVERTY_VALUES:
            bad("poverty", _("expected national, provincial or empty"), poverty)
        elif level != "county":
            bad("poverty", _("only counties have a poverty designation"), poverty)
    exit_year_number = None
    if exit_year:
        if not (_DIGITS.match(exit_year) and YEAR_MIN <= int(exit_year) <= YEAR_MAX):
            bad(
                "poverty_exit_year",
                _("expected a year between %(min)d and %(max)d")
                % {"min": YEAR_MIN, "max": YEAR_MAX},
                exit_year,
            )
        elif not poverty:
            bad("poverty_exit_year", _("only a poverty county can exit poverty"), exit_year)
        else:
            exit_year_number = int(exit_year)
    return (
        line,
        code,
        name if ok else None,
        level if ok else None,
        staged_parent,
        ur_code,
        households_number,
        lat_number,
        lon_number,
        poverty,
        exit_year_number,
        parent_level,
    )


def _coordinate(text: str, field: str, limit: int, bad: Callable[[str, str, str], None]):
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not -limit <= number <= limit:  # also false for nan
        bad(
            field,
            _("expected a number between %(low)d and %(high)d") % {"low": -limit, "high": limit},
            text,
        )
        return None
    return number


# --- staging and SQL checks -----------------------------------------------------------------


def _is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def _create_staging() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGING_TABLE}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {STAGING_TABLE} ("
            " line integer NOT NULL, code varchar(12) NOT NULL, name varchar(100),"
            " level varchar(10), parent_code varchar(12), ur_code varchar(3),"
            " households bigint, lat double precision, lon double precision,"
            " poverty varchar(10), poverty_exit_year integer, parent_level varchar(10))"
        )


def _drop_staging() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGING_TABLE}")


class _StagingWriter:
    """Rows into the staging table: COPY on PostgreSQL, batched executemany on SQLite."""

    def __enter__(self) -> "_StagingWriter":
        self._cursor = connection.cursor()
        names = ", ".join(STAGING_COLUMNS)
        if _is_postgresql():
            self._copy_context = self._cursor.cursor.copy(
                f"COPY {STAGING_TABLE} ({names}) FROM STDIN"
            )
            copy = self._copy_context.__enter__()
            self.write = copy.write_row
        else:
            self._copy_context = None
            self._batch: list[tuple] = []
            marks = ", ".join(["%s"] * len(STAGING_COLUMNS))
            self._sql = f"INSERT INTO {STAGING_TABLE} ({names}) VALUES ({marks})"
        return self

    def write(self, row: tuple) -> None:
        self._batch.append(row)
        if len(self._batch) >= SQLITE_BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._batch:
            self._cursor.executemany(self._sql, self._batch)
            self._batch = []

    def __exit__(self, *exc_info) -> None:
        try:
            if self._copy_context is not None:
                self._copy_context.__exit__(*exc_info)
            elif exc_info[0] is None:
                self._flush()
        finally:
            self._cursor.close()


def _check_staged(errors: _ErrorLog) -> None:
    """The checks that need more than one row, in SQL over the staging table."""
    room = errors.limit - len(errors.items) + 1
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE INDEX {STAGING_TABLE}_code ON {STAGING_TABLE} (code)")
        if _is_postgresql():
            cursor.execute(f"ANALYZE {STAGING_TABLE}")
        cursor.execute(
            f"SELECT s.code, s.line FROM {STAGING_TABLE} s WHERE s.code IN ("
            f" SELECT code FROM {STAGING_TABLE} GROUP BY code HAVING COUNT(*) > 1)"
            " ORDER BY s.code, s.line LIMIT %s",
            [2 * room],
        )
        first: dict[str, int] = {}
        for code, line in cursor.fetchall():
            if code in first:
                errors.add(
                    RowError(
                        line=line,
                        field="code",
                        value=code,
                        reason=_("duplicate code: also on line %(line)d") % {"line": first[code]},
                    )
                )
            else:
                first[code] = line
        cursor.execute(
            f"SELECT s.line, s.parent_code FROM {STAGING_TABLE} s"
            " WHERE s.parent_code IS NOT NULL"
            f" AND NOT EXISTS (SELECT 1 FROM {STAGING_TABLE} p WHERE p.code = s.parent_code)"
            " AND NOT EXISTS (SELECT 1 FROM regions_division d WHERE d.code = s.parent_code)"
            " ORDER BY s.line LIMIT %s",
            [room],
        )
        for line, parent_code in cursor.fetchall():
            errors.add(
                RowError(
                    line=line,
                    field="parent_code",
                    value=parent_code,
                    reason=_("the parent is neither in the file nor in the database"),
                )
            )
        # A parent from the file has its level checked on its own line; one from the database
        # was written by someone else and must still be the level its code implies.
        cursor.execute(
            f"SELECT s.line, s.parent_code, d.level, s.parent_level FROM {STAGING_TABLE} s"
            " JOIN regions_division d ON d.code = s.parent_code"
            f" WHERE NOT EXISTS (SELECT 1 FROM {STAGING_TABLE} p WHERE p.code = s.parent_code)"
            " AND d.level <> s.parent_level ORDER BY s.line LIMIT %s",
            [room],
        )
        for line, parent_code, db_level, code_level in cursor.fetchall():
            errors.add(
                RowError(
                    line=line,
                    field="parent_code",
                    value=parent_code,
                    reason=_(
                        "the parent is a %(db_level)s in the database "
                        "but its code is a %(code_level)s code"
                    )
                    % {
                        "db_level": _level_label(db_level),
                        "code_level": _level_label(code_level),
                    },
                )
            )


def _upsert(columns: tuple[str, ...]) -> tuple[int, int]:
    """Insert new codes, update changed rows; return (inserted, inserted + updated).

    Existing rows get only the columns the file carries. A file with households or poverty states
    real values for its rows, so it also clears their ``demo_invented`` flag.
    """
    written = [name for name in COLUMNS if name in columns]
    if "poverty" in written and "poverty_exit_year" not in written:
        written.append("poverty_exit_year")  # the designation and its end go together
    clears_demo = "households" in written or "poverty" in written
    updated = [name for name in written if name != "code"]
    differs = "IS DISTINCT FROM" if _is_postgresql() else "IS NOT"
    changed = [f"regions_division.{name} {differs} excluded.{name}" for name in updated]
    if clears_demo:
        changed.append("regions_division.demo_invented")
    # New rows take every column (staging holds "" or NULL for the ones the file lacks).
    names = ", ".join(COLUMNS)
    sql = (
        f"INSERT INTO regions_division ({names}, demo_invented)"
        f" SELECT {names}, false FROM {STAGING_TABLE} WHERE true ORDER BY code"
        " ON CONFLICT (code) DO UPDATE SET "
        + ", ".join(f"{name} = excluded.{name}" for name in updated)
        + (", demo_invented = false" if clears_demo else "")
        + " WHERE "
        + " OR ".join(changed)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM {STAGING_TABLE} s WHERE NOT EXISTS"
            " (SELECT 1 FROM regions_division d WHERE d.code = s.code)"
        )
        inserted = cursor.fetchone()[0]
        cursor.execute(sql)
        return inserted, cursor.rowcount

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

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext as _

from taocun.core.errors import RowError, ValidationError
from taocun.core.services import audit_record
from taocun.core.tabular import (
    NOT_UTF8,
    ErrorLog,
    StagingWriter,
    Table,
    check_header,
    create_staging,
    drop_staging,
    is_postgresql,
    not_utf8_reason,
    nul_reason,
    open_table,
    stream_rows,
)
from taocun.regions.codes import (
    LEVEL_DEPTH,
    LEVELS,
    expected_level,
    is_consistent_parent,
    is_valid_code,
)
from taocun.regions.models import Level

REQUIRED_COLUMNS = ("code", "name", "level", "parent_code")
OPTIONAL_COLUMNS = (
    "ur_code",
    "households",
    "lat",
    "lon",
    "poverty",
    "poverty_exit_year",
    "demo_invented",
)
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
POVERTY_VALUES = ("national", "provincial")
DEMO_INVENTED_VALUES = ("true", "false", "")  # case-insensitive: Parquet booleans read "True"
NAME_MAX_LENGTH = 100
HOUSEHOLDS_MAX = 2_147_483_647  # PositiveIntegerField's ceiling on every backend
YEAR_MIN, YEAR_MAX = 1980, 2100


def _level_label(level: str) -> str:
    """The level's name in the user's language, for messages."""
    return str(Level(level).label) if level in Level.values else level


STAGING_TABLE = "regions_division_import"
# line, then the model's columns, then the level the parent's code implies.
STAGING_COLUMNS = ("line", *COLUMNS, "parent_level")
STAGING_DEFINITION = (
    "line integer NOT NULL, code varchar(12) NOT NULL, name varchar(100),"
    " level varchar(10), parent_code varchar(12), ur_code varchar(3),"
    " households bigint, lat double precision, lon double precision,"
    " poverty varchar(10), poverty_exit_year integer, demo_invented boolean NOT NULL,"
    " parent_level varchar(10)"
)

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
    errors = ErrorLog(path=str(path), limit=max_errors)
    with transaction.atomic():
        table = open_table(path, errors)
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
        drop_staging(STAGING_TABLE)
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


# --- checking one row ----------------------------------------------------------------------


def _check_header(header: list[str], errors: ErrorLog) -> tuple[str, ...]:
    """The file's columns in file order; every problem is reported on line 1."""
    names = check_header(
        header, required=REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS, errors=errors
    )
    seen = set(names)
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


def _stage_rows(
    table: Table, columns: tuple[str, ...], errors: ErrorLog, *, progress: bool, desc: str
) -> int:
    """Check each row and stream it into the staging table; return the number of rows."""
    create_staging(STAGING_TABLE, STAGING_DEFINITION)
    with StagingWriter(STAGING_TABLE, STAGING_COLUMNS) as staging:
        return stream_rows(
            table,
            columns=columns,
            order=COLUMNS,
            check_row=lambda line, values: _check_row(line, values, columns, errors),
            write=staging.write,
            errors=errors,
            progress=progress,
            desc=desc,
        )


def _check_row(
    line: int, values: list[str], columns: tuple[str, ...], errors: ErrorLog
) -> tuple | None:
    """Check one row; add its errors; return the staging tuple when its code is usable.

    A row with a good code is staged even when other fields are bad, so that its children
    do not get a misleading "parent missing" and duplicates are still found.
    """
    if NOT_UTF8.search("".join(values)):
        for name, value in zip(COLUMNS, values, strict=True):
            if NOT_UTF8.search(value):
                errors.add(RowError(line=line, field=name, reason=not_utf8_reason()))
        return None
    ok = True

    def bad(field: str, reason: str, value: str) -> None:
        nonlocal ok
        ok = False
        errors.add(RowError(line=line, field=field, reason=reason, value=value))

    if any("\x00" in value for value in values):
        # PostgreSQL cannot hold NUL in text: report each field that has one, then check the
        # rest of the row without them (the row is never written: it has an error).
        for column, value in zip(COLUMNS, values, strict=True):
            if "\x00" in value:
                bad(column, nul_reason(), value)
        values = [value.replace("\x00", "") for value in values]
    code, name, level, parent_code, ur_code, households, lat, lon, poverty, exit_year, demo = (
        value.strip() for value in values
    )
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
    demo_invented = demo.lower() == "true"
    if demo.lower() not in DEMO_INVENTED_VALUES:
        bad("demo_invented", _("expected true, false or empty"), demo)
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
        demo_invented,
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


def _check_staged(errors: ErrorLog) -> None:
    """The checks that need more than one row, in SQL over the staging table."""
    room = errors.room
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE INDEX {STAGING_TABLE}_code ON {STAGING_TABLE} (code)")
        if is_postgresql():
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

    Existing rows get only the columns the file carries. A file with a ``demo_invented``
    column sets the flag from it (an export of demo data round-trips); without it, a file with
    households or poverty states real values for its rows, so it clears their flag.
    """
    written = [name for name in COLUMNS if name in columns]
    if "poverty" in written and "poverty_exit_year" not in written:
        written.append("poverty_exit_year")  # the designation and its end go together
    clears_demo = "demo_invented" not in written and (
        "households" in written or "poverty" in written
    )
    updated = [name for name in written if name != "code"]
    differs = "IS DISTINCT FROM" if is_postgresql() else "IS NOT"
    changed = [f"regions_division.{name} {differs} excluded.{name}" for name in updated]
    if clears_demo:
        changed.append("regions_division.demo_invented")
    # New rows take every column (staging holds "", NULL or false for the ones the file lacks).
    names = ", ".join(COLUMNS)
    sql = (
        f"INSERT INTO regions_division ({names})"
        f" SELECT {names} FROM {STAGING_TABLE} WHERE true ORDER BY code"
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

"""The shape every sales import shares: read, check, stage, check in SQL, upsert, audit.

Why it is built this way (the divisions import follows the same plan):

* **Constant memory.** Each row is checked on its own in Python (everything a row can tell
  about itself) and streamed into a temporary staging table: ``COPY`` on PostgreSQL,
  batched inserts on SQLite. Checks that need other rows or the database (duplicate keys,
  unknown shops and villages) are set-based SQL over the staging table. Python never holds
  the rows or a set of their keys.
* **Atomic.** Staging, checks, the upsert and the audit entry share one transaction; any
  bad row raises :class:`ImportRejected` inside it, so a file with one bad row writes
  nothing.
* **Idempotent.** One ``INSERT … ON CONFLICT DO UPDATE … WHERE <something differs>`` per
  file: importing the same file twice rewrites nothing, and the counts say what happened.
"""

import dataclasses
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from taocun.core.errors import RowError, ValidationError
from taocun.core.services import audit_record
from taocun.core.tabular import (
    NOT_UTF8,
    ErrorLog,
    StagingWriter,
    check_header,
    create_staging,
    drop_staging,
    is_postgresql,
    not_utf8_reason,
    open_table,
    stream_rows,
)

# SQLite's page cache while an import runs (KiB; the default is 2 MB). Upserting millions
# of rows touches index pages all over the table; with this cache a million orders take
# about a third less CPU. It bounds the import's memory (with SQLite's sorter, which sizes
# itself on it), whatever the file's size.
SQLITE_IMPORT_CACHE_KIB = 262_144
# PostgreSQL's work_mem and maintenance_work_mem for the import's transaction (SET LOCAL).
POSTGRESQL_IMPORT_MEMORY = "256MB"


@dataclass(frozen=True)
class ImportSummary:
    """What an import did; ``rows`` counts the data rows read."""

    kind: str
    path: str
    rows: int
    inserted: int
    updated: int
    unchanged: int
    seconds: float
    dry_run: bool = False
    # Shops whose village changed (one ShopMove each); orders whose CNY value a rates file
    # changed.
    moved: int = 0
    reconverted: int = 0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


@dataclass
class UpsertCounts:
    inserted: int
    changed: int
    extra: dict[str, int] = field(default_factory=dict)


class StagedImport:
    """One import run. Subclasses describe the file and the SQL; :meth:`run` does the rest."""

    kind = ""
    audit_action = ""
    audit_object_type = ""
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    staging_table = ""
    staging_columns: tuple[str, ...] = ()
    # The staging columns' PostgreSQL types, for a binary COPY.
    staging_pg_types: tuple[str, ...] = ()
    # Columns of the staging table that make up the key, for the duplicate check.
    staging_key: tuple[str, ...] = ()
    key_field = ""  # the file column a duplicate is reported on

    def __init__(self, *, path: Path, errors: ErrorLog) -> None:
        self.path = path
        self.errors = errors
        self.columns: tuple[str, ...] = ()
        self.rows = 0  # rows read, known once the file is staged

    # --- what a subclass provides ----------------------------------------------------------

    def staging_definition(self) -> str:
        raise NotImplementedError

    def prepare(self) -> None:
        """Before the rows: load what checking them needs (rates, the current time)."""

    def check_row(self, line: int, values: list[str]) -> tuple | None:
        """Values come in ``required + optional`` order; return the staging row or None."""
        raise NotImplementedError

    def check_staged(self) -> None:
        """Checks that need the database or other rows, as SQL over the staging table."""

    def upsert(self) -> UpsertCounts:
        raise NotImplementedError

    def audit_details(self) -> dict[str, Any]:
        return {}

    def duplicate_reason(self, first_line: int) -> str:
        return _("duplicate key: also on line %(line)d") % {"line": first_line}

    # --- the common plan ------------------------------------------------------------------

    def run(self, *, progress: bool, dry_run: bool, actor: Any | None) -> ImportSummary:
        started = time.perf_counter()
        errors = self.errors
        with _sqlite_import_cache(), transaction.atomic():
            _postgresql_import_memory()
            table = open_table(self.path, errors)
            try:
                self.columns = check_header(
                    table.header, required=self.required, optional=self.optional, errors=errors
                )
                errors.raise_if_any()
                self.prepare()
                create_staging(self.staging_table, self.staging_definition())
                with StagingWriter(
                    self.staging_table, self.staging_columns, pg_types=self.staging_pg_types
                ) as staging:
                    rows = stream_rows(
                        table,
                        columns=self.columns,
                        order=(*self.required, *self.optional),
                        check_row=self.check_row,
                        write=staging.write,
                        errors=errors,
                        progress=progress,
                        desc=self.path.name,
                    )
            finally:
                table.close()
            if rows == 0 and not errors.items:
                errors.add(RowError(line=1, field="file", reason=_("the file has no data rows")))
            if not errors.truncated:
                self._check_duplicates()
            if not errors.truncated:
                self.check_staged()
            errors.raise_if_any()
            self.rows = rows
            counts = self.upsert()
            drop_staging(self.staging_table)
            summary = ImportSummary(
                kind=self.kind,
                path=str(self.path),
                rows=rows,
                inserted=counts.inserted,
                updated=counts.changed - counts.inserted,
                unchanged=rows - counts.changed,
                seconds=0.0,  # set below, once the commit (and its deferred checks) is done
                dry_run=dry_run,
                **counts.extra,
            )
            if dry_run:
                transaction.set_rollback(True)
            else:
                audit_record(
                    actor=actor,
                    action=self.audit_action,
                    object_type=self.audit_object_type,
                    object_id=self.path.name[:64],
                    after={
                        "file": str(self.path),
                        "columns": list(self.columns),
                        "rows": summary.rows,
                        "inserted": summary.inserted,
                        "updated": summary.updated,
                        "unchanged": summary.unchanged,
                        **counts.extra,
                        **self.audit_details(),
                    },
                )
        return dataclasses.replace(summary, seconds=round(time.perf_counter() - started, 3))

    def _check_duplicates(self) -> None:
        """A unique index on the staged keys; only when it cannot be built are the repeats
        looked up (so a clean file pays for one index build, which the upsert uses too)."""
        table, key = self.staging_table, ", ".join(self.staging_key)
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"CREATE UNIQUE INDEX {table}_key ON {table} ({key})")
            return
        except IntegrityError:
            pass
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE INDEX {table}_key ON {table} ({key})")
            matches = " AND ".join(f"d.{name} = s.{name}" for name in self.staging_key)
            shown = f"s.{self.staging_key[-1]}"
            cursor.execute(
                f"SELECT s.line, MIN(d.line), {shown} FROM {table} s"
                f" JOIN {table} d ON {matches} AND d.line < s.line"
                f" GROUP BY s.line, {shown} ORDER BY s.line LIMIT %s",
                [self.errors.room],
            )
            for line, first_line, value in cursor.fetchall():
                self.errors.add(
                    RowError(
                        line=line,
                        field=self.key_field,
                        value=str(value),
                        reason=self.duplicate_reason(first_line),
                    )
                )

    # --- helpers for subclasses -----------------------------------------------------------

    def report_not_utf8(self, line: int, values: list[str]) -> None:
        for name, value in zip((*self.required, *self.optional), values, strict=True):
            if NOT_UTF8.search(value):
                self.errors.add(RowError(line=line, field=name, reason=not_utf8_reason()))

    def fetch_errors(self, sql: str, params: list, make: Any) -> None:
        """Run a check query returning ``line`` first; ``make(row)`` gives its RowError."""
        with connection.cursor() as cursor:
            cursor.execute(f"{sql} ORDER BY 1 LIMIT %s", [*params, self.errors.room])
            for row in cursor.fetchall():
                self.errors.add(make(row))

    @staticmethod
    def db_now() -> Any:
        """The current time as the database driver wants it for a DateTimeField."""
        return connection.ops.adapt_datetimefield_value(timezone.now())

    @staticmethod
    def differs() -> str:
        """Null-safe inequality in this database's SQL."""
        return "IS DISTINCT FROM" if is_postgresql() else "IS NOT"

    def run_upsert(self, sql: str, params: list, *, target: str) -> UpsertCounts:
        """Run ``INSERT … ON CONFLICT …`` and count inserted and changed rows.

        PostgreSQL tells inserted from updated rows by ``xmax = 0`` in ``RETURNING``. SQLite
        holds the database's write lock for the whole import, so the rows inserted are
        exactly those with an id above the largest before.
        """
        with connection.cursor() as cursor:
            if is_postgresql():
                cursor.execute(
                    f"WITH up AS ({sql} RETURNING (xmax = 0) AS inserted)"
                    " SELECT COUNT(*) FILTER (WHERE inserted), COUNT(*) FROM up",
                    params,
                )
                inserted, changed = cursor.fetchone()
                return UpsertCounts(inserted=inserted, changed=changed)
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {target}")
            highest = cursor.fetchone()[0]
            cursor.execute(sql, params)
            changed = cursor.rowcount
            cursor.execute(f"SELECT COUNT(*) FROM {target} WHERE id > %s", [highest])
            return UpsertCounts(inserted=cursor.fetchone()[0], changed=changed)


def run_import(
    importer: type[StagedImport],
    *,
    path: str | Path,
    max_errors: int,
    progress: bool,
    dry_run: bool,
    actor: Any | None,
) -> ImportSummary:
    if max_errors < 1:
        raise ValidationError(_("max_errors must be at least 1"), field="max_errors")
    path = Path(path)
    if not path.is_file():
        raise ValidationError(_("%(path)s: no such file") % {"path": path}, field="file")
    errors = ErrorLog(path=str(path), limit=max_errors)
    return importer(path=path, errors=errors).run(progress=progress, dry_run=dry_run, actor=actor)


def staged_instant_converter() -> Callable[[datetime], Any]:
    """How a naive UTC instant is staged: aware, for the driver, on PostgreSQL; on SQLite
    as the text Django stores (``YYYY-MM-DD HH:MM:SS[.ffffff]``, UTC) so that staged and
    stored values compare as equal text."""
    if is_postgresql():
        return lambda value: value.replace(tzinfo=UTC)
    return lambda value: value.isoformat(" ")


@contextmanager
def secondary_indexes_rebuilt(table: str, *, incoming_rows: int) -> Iterator[None]:
    """On SQLite, when a file brings more rows than ``table`` holds (a first or large load),
    drop the table's plain indexes for the upsert and build them again afterwards.

    Maintaining an index row by row in random order costs far more than building it by one
    sort once the table outgrows the page cache; the unique indexes stay, as the upsert
    needs them. SQLite holds the write lock for the whole import anyway, and its DDL is
    transactional: readers keep seeing the old table until the commit, and a rejected file
    rolls the indexes back with everything else. (Not on PostgreSQL: dropping an index locks
    the table against readers until the commit.)
    """
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        if incoming_rows <= cursor.fetchone()[0]:
            indexes = []
        else:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s"
                " AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%%' ORDER BY name",
                [table],
            )
            indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    yield
    with connection.cursor() as cursor:
        for _, sql in indexes:
            cursor.execute(sql)


def _postgresql_import_memory() -> None:
    """More memory for this transaction's sorts and hashes (the staging table's unique index,
    the join to shops): the defaults (64 MB, 4 MB) spill millions of rows to disk."""
    if is_postgresql():
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL maintenance_work_mem = '{POSTGRESQL_IMPORT_MEMORY}'")
            cursor.execute(f"SET LOCAL work_mem = '{POSTGRESQL_IMPORT_MEMORY}'")


class _sqlite_import_cache:
    """A larger SQLite page cache for the import's connection, restored afterwards."""

    def __enter__(self) -> None:
        self._previous = None
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size")
                self._previous = cursor.fetchone()[0]
                cursor.execute(f"PRAGMA cache_size = -{SQLITE_IMPORT_CACHE_KIB}")

    def __exit__(self, *exc_info) -> None:
        if self._previous is not None and connection.connection is not None:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size = {int(self._previous)}")

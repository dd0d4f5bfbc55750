"""The divisions export: the division tree (or part of it) in the import's own format.

Why it is built this way:

* **Streaming.** Rows come from ``values_list(...).iterator()`` in code order and are
  written as they arrive, so exporting the national table needs little memory.
* **Round trips.** Whatever the export writes, the import reads back to the same database
  state, and exporting again gives the same bytes: floats print as their shortest repr
  (``39.904211``), empty values as empty fields, gzip headers carry no timestamp.
* **Only the columns in use.** Optional columns with no value in the exported rows are left
  out, so the export of the national table has the national file's columns; importing such a
  file leaves households and poverty designations alone (see ``regions.importing``). The
  ``demo_invented`` flag is written (``true``/``false``) when any exported row has it, so an
  export of demo data imports back still marked as invented.
* **No half files.** A file export is written next to its target and renamed into place.
"""

import csv
import gzip
import io
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from taocun.core.commands import progress_bar
from taocun.core.errors import ValidationError
from taocun.regions.codes import LEVELS, significant_prefix
from taocun.regions.importing import OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from taocun.regions.models import Division
from taocun.regions.selectors import division_get

STDOUT = "-"
ITERATOR_CHUNK_ROWS = 5_000
PARQUET_BATCH_ROWS = 50_000
FIELD_OF_COLUMN = {"parent_code": "parent_id"}


@dataclass(frozen=True)
class ExportSummary:
    path: str
    rows: int
    columns: tuple[str, ...]


def divisions_export(
    *,
    path: str | Path,
    level: str | None = None,
    under: str | None = None,
    stream: TextIO | None = None,
    progress: bool = False,
) -> ExportSummary:
    """Write divisions to ``path`` (``.csv``, ``.csv.gz`` or ``.parquet``; ``-`` writes CSV
    to ``stream``, standard output by default), in code order.

    ``level`` keeps one level; ``under`` keeps one division and everything below it.
    """
    target = str(path)
    if target != STDOUT:
        _kind_of(target)  # refuse an unknown suffix before any work
    queryset = _selection(level=level, under=under)
    columns = _columns_in_use(queryset)
    fields = [FIELD_OF_COLUMN.get(name, name) for name in columns]
    rows = queryset.values_list(*fields).order_by("code").iterator(chunk_size=ITERATOR_CHUNK_ROWS)
    total = queryset.count() if progress else None
    try:
        with progress_bar(
            total=total, unit="row", desc=Path(target).name, disable=not progress
        ) as bar:
            counted = _counting(rows, bar)
            if target == STDOUT:
                written = _write_csv(counted, columns, stream or sys.stdout)
            else:
                written = _write_file(Path(target), _kind_of(target), counted, columns)
    finally:
        rows.close()  # release the database cursor now, even when the reader went away
    return ExportSummary(path=target, rows=written, columns=columns)


def _selection(*, level: str | None, under: str | None) -> QuerySet[Division]:
    queryset = Division.objects.all()
    if level:
        if level not in LEVELS:
            raise ValidationError(
                _("Unknown level %(level)r (expected one of %(levels)s)")
                % {"level": level, "levels": "|".join(LEVELS)},
                field="level",
            )
        queryset = queryset.filter(level=level)
    if under:
        top = division_get(code=under)
        # Parents are prefix-consistent (the import checks it), so a subtree is a code prefix.
        queryset = queryset.filter(code__startswith=significant_prefix(top.code, top.level))
    return queryset


def _columns_in_use(queryset: QuerySet[Division]) -> tuple[str, ...]:
    """Required columns plus the optional ones that hold a value in the selection."""
    counts = queryset.aggregate(
        ur_code=Count("code", filter=~Q(ur_code="")),
        households=Count("households"),
        lat=Count("lat"),
        lon=Count("lon"),
        poverty=Count("code", filter=~Q(poverty="")),
        poverty_exit_year=Count("poverty_exit_year"),
        demo_invented=Count("code", filter=Q(demo_invented=True)),
    )
    used = {name for name in OPTIONAL_COLUMNS if counts[name]}
    if used & {"lat", "lon"}:
        used |= {"lat", "lon"}  # the import takes a coordinate as a pair
    if "poverty_exit_year" in used:
        used.add("poverty")
    return REQUIRED_COLUMNS + tuple(name for name in OPTIONAL_COLUMNS if name in used)


def _kind_of(target: str) -> str:
    name = target.lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith(".csv.gz") or name.endswith(".gz"):
        return "csv.gz"
    if name.endswith(".csv"):
        return "csv"
    raise ValidationError(
        _(
            "%(path)s: unknown format; name the file .csv, .csv.gz or .parquet, or - for "
            "standard output"
        )
        % {"path": target},
        field="file",
    )


def _counting(rows: Iterator[tuple], bar) -> Iterator[tuple]:
    for number, row in enumerate(rows, start=1):
        yield row
        if not number % ITERATOR_CHUNK_ROWS:
            bar.update(ITERATOR_CHUNK_ROWS)


def _as_field(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _write_csv(rows: Iterator[tuple], columns: tuple[str, ...], out: TextIO) -> int:
    # The csv module's default "\r\n" line ends (RFC 4180), as in the NBS-derived national file.
    writer = csv.writer(out)
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([_as_field(value) for value in row])
        count += 1
    return count


def _write_file(target: Path, kind: str, rows: Iterator[tuple], columns: tuple[str, ...]) -> int:
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise ValidationError(_("%(path)s: no such directory") % {"path": directory}, field="file")
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as raw:
            if kind == "parquet":
                count = _write_parquet(rows, columns, raw)
            elif kind == "csv.gz":
                # mtime=0 and no file name in the header: the same rows give the same bytes.
                with (
                    gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as packed,
                    io.TextIOWrapper(packed, encoding="utf-8", newline="") as text,
                ):
                    count = _write_csv(rows, columns, text)
            else:
                with io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
                    count = _write_csv(rows, columns, text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return count


def _write_parquet(rows: Iterator[tuple], columns: tuple[str, ...], raw) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {
        "households": pa.int64(),
        "lat": pa.float64(),
        "lon": pa.float64(),
        "poverty_exit_year": pa.int32(),
        "demo_invented": pa.bool_(),
    }
    schema = pa.schema([(name, types.get(name, pa.string())) for name in columns])
    # Empty text is written as null, the way a CSV empty field reads back.
    blank_is_null = {name for name in columns if name not in types}
    count = 0
    with pq.ParquetWriter(raw, schema) as writer:
        batch: list[tuple] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= PARQUET_BATCH_ROWS:
                count += _write_parquet_batch(writer, schema, batch, blank_is_null)
                batch = []
        count += _write_parquet_batch(writer, schema, batch, blank_is_null)
    return count


def _write_parquet_batch(writer, schema, batch: list[tuple], blank_is_null: set[str]) -> int:
    import pyarrow as pa

    arrays = []
    for index, field in enumerate(schema):
        values = [row[index] for row in batch]
        if field.name in blank_is_null:
            values = [value or None for value in values]
        arrays.append(pa.array(values, type=field.type))
    writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
    return len(batch)

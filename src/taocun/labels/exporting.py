"""The CSV files of an evaluation (``taocun labels evaluate --out DIR``).

UTF-8 without a byte-order mark, a header row, ``\\r\\n`` line ends (as every taocun
export); sales in yuan with two decimals and no grouping (``1234.50``); ``labeled`` as
``true`` / ``false``; lists joined by ``;``. Rows in code (or cluster id) order.

* ``villages.csv``: ``code,name,township_code,county_code,sales,active_shops,households,
  labeled,failed_criteria`` — ``sales`` is the counted sales; ``households`` empty when not
  known; ``failed_criteria`` as :func:`taocun.labels.explaining.failed_criteria`.
* ``towns.csv``: ``code,name,labeled_villages,sales,active_shops,labeled,basis``.
* ``clusters.csv``: ``cluster_id,villages,sales,size_class,village_codes``.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from django.utils.translation import gettext as _

from taocun.core.errors import ValidationError
from taocun.core.money import Money
from taocun.labels.criteria import (
    ACTIVE_SHOPS,
    ELIGIBILITY,
    HOUSEHOLD_SHARE,
    MAIN_PLATFORM,
    SALES,
)
from taocun.labels.evaluating import EvaluationOutcome
from taocun.labels.rulesets import RuleSet

VILLAGE_COLUMNS = (
    "code",
    "name",
    "township_code",
    "county_code",
    "sales",
    "active_shops",
    "households",
    "labeled",
    "failed_criteria",
)
TOWN_COLUMNS = ("code", "name", "labeled_villages", "sales", "active_shops", "labeled", "basis")
CLUSTER_COLUMNS = ("cluster_id", "villages", "sales", "size_class", "village_codes")


def _yuan(fen: int | None) -> str:
    return Money(int(fen or 0)).yuan_text()


def yuan_column(fen: pa.ChunkedArray) -> pa.Array:
    """Fen as yuan text with two decimals (``Money.yuan_text``), for a whole column."""
    fen = pc.fill_null(fen, 0)
    magnitude = pc.abs(fen)
    whole = pc.cast(pc.divide(magnitude, 100), pa.string())  # integer division
    cents = pc.utf8_lpad(
        pc.cast(pc.subtract(magnitude, pc.multiply(pc.divide(magnitude, 100), 100)), pa.string()),
        2,
        "0",
    )
    text = pc.binary_join_element_wise(whole, cents, ".")
    return pc.if_else(pc.less(fen, 0), pc.binary_join_element_wise("-", text, ""), text)


def failed_column(villages: pa.Table, rules: RuleSet) -> pa.Array:
    """``failed_criteria`` for every village at once: the same keys, in the same order, as
    :func:`taocun.labels.explaining.failed_criteria`."""

    def when(condition, key: str):
        return pc.if_else(pc.fill_null(condition, False), f"{key};", "")

    column = villages.column
    group_passed = pc.or_kleene(
        column("active_shops_passed"), pc.fill_null(column("household_share_passed"), False)
    )
    group_failed = pc.invert(pc.fill_null(group_passed, False))
    parts = [
        when(pc.invert(column("eligible")), ELIGIBILITY),
        when(pc.invert(column("sales_passed")), SALES),
    ]
    if rules.main_platforms:
        parts.append(when(pc.invert(column("main_platform_passed")), MAIN_PLATFORM))
    if rules.village_active_shops is not None:
        parts.append(when(group_failed, ACTIVE_SHOPS))
    if rules.village_household_share is not None:
        share = column("household_share_passed")
        parts.append(
            pc.if_else(
                pc.and_(group_failed, pc.is_null(share)),
                f"{HOUSEHOLD_SHARE}:unknown;",
                when(pc.and_(group_failed, pc.invert(pc.fill_null(share, True))), HOUSEHOLD_SHARE),
            )
        )
    # Each part ends with ";" (or is empty): join them, then drop the last ";". (Arrow's
    # null_handling="skip" drops rows whose parts are all null, so nulls are avoided.)
    return pc.utf8_rtrim(pc.binary_join_element_wise(*parts, ""), ";")


NEEDS_QUOTES = (b",", b'"', b"\r", b"\n")


def _may_need_quotes(column: pa.ChunkedArray, searched: set[int] | None = None) -> bool:
    """Whether a text of ``column`` may hold a character that CSV must quote.

    Searches the bytes of each chunk's character buffer (``memchr`` speed: a regular
    expression over 666,655 names took most of the writing time). The buffer may hold
    bytes beyond the chunk's values (a slice): a false "yes" only costs the slower writer.
    Buffers whose address is in ``searched`` are skipped, and searched ones are added: the
    slices of one column share a buffer, searched once.
    """
    if not pa.types.is_string(column.type):
        return False
    searched = set() if searched is None else searched
    for chunk in column.chunks:
        data = chunk.buffers()[2]
        if data is None or data.address in searched:
            continue
        searched.add(data.address)
        raw = data.to_pybytes()
        if any(char in raw for char in NEEDS_QUOTES):
            return True
    return False


# Villages formatted and written as CSV text by slices, one per thread (Arrow's compute and
# CSV writer release the GIL): the nation's 666,655 villages in halves on two cores.
SLICE_ROWS = 200_000


def _slices(table: pa.Table) -> list[pa.Table]:
    parts = min(os.cpu_count() or 1, -(-table.num_rows // SLICE_ROWS))
    if parts <= 1:
        return [table]
    step = -(-table.num_rows // parts)
    return [table.slice(start, step) for start in range(0, table.num_rows, step)]


def _csv_bytes(table: pa.Table) -> pa.Buffer:
    options = pa_csv.WriteOptions(include_header=False, quoting_style="none", eol="\r\n")
    sink = pa.BufferOutputStream()
    pa_csv.write_csv(table, sink, write_options=options)
    return sink.getvalue()


def _write(path: Path, source: pa.Table, columns: Callable[[pa.Table], dict]) -> None:
    """One CSV file of ``columns(rows)`` over the rows of ``source``: Arrow's writer when no
    text needs quoting (the usual case, and fast), by slices in parallel, else Python's
    ``csv`` module; the bytes are the same either way."""
    slices = _slices(source)
    with ThreadPoolExecutor(max_workers=len(slices)) as pool:
        tables = list(pool.map(lambda rows: pa.table(columns(rows)), slices))
        names = tables[0].column_names
        searched: set[int] = set()
        plain = not any(
            _may_need_quotes(table.column(name), searched) for table in tables for name in names
        )
        if plain:
            texts = list(pool.map(_csv_bytes, tables))
    if plain:
        with path.open("wb") as handle:
            handle.write((",".join(names) + "\r\n").encode())
            for text in texts:
                handle.write(text)
        return
    table = pa.concat_tables(tables)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        writer.writerows(zip(*(_cells(table.column(name)) for name in names), strict=True))


def _cells(column: pa.ChunkedArray) -> list:
    if pa.types.is_boolean(column.type):
        return ["" if v is None else ("true" if v else "false") for v in column.to_pylist()]
    return ["" if v is None else v for v in column.to_pylist()]


def evaluation_write_csv(*, outcome: EvaluationOutcome, directory: str | Path) -> list[Path]:
    """Write the three files into ``directory`` (created when missing); returns their paths.

    Columns are formatted with Arrow compute, a column at a time, so the nation's 666,655
    villages take about a second.
    """
    folder = Path(directory)
    if folder.exists() and not folder.is_dir():
        raise ValidationError(
            _("%(path)s exists and is not a folder") % {"path": str(folder)}, field="out"
        )
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "villages.csv", folder / "towns.csv", folder / "clusters.csv"]
    rules = outcome.rules
    _write(
        paths[0],
        outcome.villages,
        lambda villages: {
            "code": villages.column("code"),
            "name": villages.column("name"),
            "township_code": villages.column("township_code"),
            "county_code": villages.column("county_code"),
            "sales": yuan_column(villages.column("sales_fen")),
            "active_shops": villages.column("active_shops"),
            "households": villages.column("households"),
            "labeled": villages.column("labeled"),
            "failed_criteria": failed_column(villages, rules),
        },
    )
    _write(
        paths[1],
        outcome.towns,
        lambda towns: {
            "code": towns.column("code"),
            "name": towns.column("name"),
            "labeled_villages": towns.column("labeled_villages"),
            "sales": yuan_column(towns.column("sales_fen")),
            "active_shops": towns.column("active_shops"),
            "labeled": towns.column("labeled"),
            "basis": towns.column("basis"),
        },
    )
    with paths[2].open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CLUSTER_COLUMNS)
        for cluster in outcome.clusters:
            writer.writerow(
                (
                    cluster.cluster_id,
                    cluster.villages,
                    _yuan(cluster.sales_fen),
                    cluster.size_class,
                    ";".join(cluster.village_codes),
                )
            )
    return paths

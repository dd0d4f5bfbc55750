"""Running the engine at the edge: build the expressions for a source, materialise them
once, and find the clusters.

The orders are read exactly once: the shops' sales and activity, added up per village and
platform (``shop_groups``), are cached in the backend (a temporary table on SQLite,
PostgreSQL and DuckDB; a cached DataFrame on Spark) and the village table is cached in turn,
so villages, towns and the per-platform sales are small queries over small tables. Every
cache is released before returning.

>>> from taocun.labels.sources import source_opened          # doctest: +SKIP
>>> with source_opened("parquet:/data/cn-2019") as source:   # doctest: +SKIP
...     outcome = evaluation_compute(source=source, rules=rule_set_load("aliresearch-2019"))
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
from django.utils.translation import gettext as _

from taocun.labels.engine import (
    Cluster,
    Place,
    clusters_find,
    shop_activity,
    shop_groups,
    town_criteria,
    village_criteria,
    village_platform_sales,
)
from taocun.labels.rulesets import RuleSet, Window
from taocun.labels.sources import Source
from taocun.sales.platforms import platform_names

Progress = Callable[[int, str], None]


def _silent(percent: int, note: str) -> None:
    """No progress reporting."""


@dataclass
class EvaluationOutcome:
    """The materialised result of one evaluation (``docs/labels.md`` lists the columns)."""

    rules: RuleSet
    window: Window
    source: str
    villages: pa.Table
    towns: pa.Table
    clusters: list[Cluster]
    platform_sales: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def villages_evaluated(self) -> int:
        return self.villages.num_rows

    @property
    def villages_labeled(self) -> int:
        return _count_true(self.villages, "labeled")

    @property
    def towns_labeled(self) -> int:
        return _count_true(self.towns, "labeled")

    @property
    def labeled_sales_fen(self) -> int:
        """Counted sales of the labelled villages."""
        labeled = self.villages.filter(pc.equal(self.villages.column("labeled"), True))
        return int(pc.sum(labeled.column("sales_fen")).as_py() or 0)

    @property
    def warnings(self) -> list[str]:
        """What makes the result doubtful though nothing failed: a window with no sales at
        all (a cut-off before the data, orders not imported), or sales only on platforms
        the rule set does not count."""
        start, cutoff = self.window.start.isoformat(), self.window.cutoff.isoformat()
        if not _sum(self.villages, "all_sales_fen"):
            return [
                _(
                    "No sales at all from %(start)s to %(cutoff)s: no order of any platform "
                    "was paid in the window. Check the cut-off date and that the orders were "
                    "imported."
                )
                % {"start": start, "cutoff": cutoff}
            ]
        if not _sum(self.villages, "sales_fen"):
            return [
                _(
                    "From %(start)s to %(cutoff)s every sale is on a platform this rule set "
                    "does not count (it counts %(platforms)s)."
                )
                % {
                    "start": start,
                    "cutoff": cutoff,
                    "platforms": platform_names(self.rules.counted_platforms or ()),
                }
            ]
        return []

    def village_rows(self) -> list[dict]:
        return self.villages.to_pylist()

    def town_rows(self) -> list[dict]:
        return self.towns.to_pylist()


def _sum(table: pa.Table, column: str) -> int:
    return int(pc.sum(table.column(column)).as_py() or 0)


def _count_true(table: pa.Table, column: str) -> int:
    return int(pc.sum(pc.cast(pc.fill_null(table.column(column), False), pa.int64())).as_py() or 0)


def evaluation_compute(
    *,
    source: Source,
    rules: RuleSet,
    cutoff: dt.date | None = None,
    progress: Progress | None = None,
    with_platform_sales: bool = False,
    village_codes: list[str] | None = None,
) -> EvaluationOutcome:
    """Evaluate every village, township and cluster of ``source`` under ``rules``.

    ``village_codes`` restricts the work to some villages (``taocun labels explain``):
    only their shops and those shops' orders are read; towns and clusters are then partial.
    ``progress(percent, note)`` is called between steps.
    """
    report = progress or _silent
    started = time.monotonic()
    window = rules.window_for(cutoff)
    divisions, shops, orders = source.divisions, source.shops, source.orders
    if village_codes is not None:
        shops = shops.filter(shops.village_code.isin(village_codes))
        orders = orders.semi_join(shops, [orders[k] == shops[k] for k in source.shop_keys])
        keep = divisions.code.isin(village_codes) | (divisions.level != "village")
        divisions = divisions.filter(keep)

    report(5, "orders")
    _arrow_memory_pool()
    per_shop = shop_activity(shops, orders, rules, window, keys=source.shop_keys)
    with shop_groups(per_shop, rules).cache() as groups:
        report(60, "villages")
        expression = village_criteria(divisions, groups, rules)
        with _materialised(expression, source) as (villages, villages_table):
            report(75, "towns")
            town_expression = town_criteria(villages_table, divisions, rules)
            towns = _sorted(_database_arrow(source, town_expression), "code")
        platform_sales: dict[str, dict[str, int]] = {}
        if with_platform_sales:
            report(82, "platforms")
            by_platform = village_platform_sales(groups)
            rows = by_platform.filter(by_platform.sales_fen != 0).to_pyarrow().to_pylist()
            for row in sorted(rows, key=lambda r: (r["village_code"], r["platform"])):
                platform_sales.setdefault(row["village_code"], {})[row["platform"]] = int(
                    row["sales_fen"]
                )
    report(90, "clusters")
    clusters = clusters_find(_labeled_places(villages), rules)
    report(100, "done")
    return EvaluationOutcome(
        rules=rules,
        window=window,
        source=source.spec,
        villages=villages,
        towns=towns,
        clusters=clusters,
        platform_sales=platform_sales,
        seconds=time.monotonic() - started,
    )


def _arrow_memory_pool() -> None:
    """Arrow's allocations in this process (sorting and exporting the village table) from
    jemalloc, or the system allocator, rather than the wheel's default mimalloc: the
    first use of fresh memory (the sort's copy of 666,655 villages, the CSV text) cost 0.3
    to 0.6 s more with mimalloc in measurements (``docs/benchmarks.md``). An explicit
    ``ARROW_DEFAULT_MEMORY_POOL`` is left alone."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    if pa.default_memory_pool().backend_name in ("jemalloc", "system"):
        return
    try:
        pool = pa.jemalloc_memory_pool()
    except NotImplementedError:  # a build of Arrow without jemalloc
        pool = pa.system_memory_pool()
    pa.set_memory_pool(pool)


@contextlib.contextmanager
def _materialised(expression, source: Source):
    """The village table as Arrow (sorted by code) and as a table of the backend for the
    town query: on DuckDB the Arrow table itself, registered as a view without a copy
    (``ibis.memtable`` would do the same after importing pandas and Arrow's datasets, a
    quarter of a second); elsewhere a cached table (a temporary table computed inside the
    database)."""
    if source.kind == "parquet":
        villages = _sorted(_duckdb_arrow(source, expression), "code")
        name = f"taocun_villages_{uuid.uuid4().hex}"
        source.backend.con.register(name, villages)
        try:
            yield villages, source.backend.table(name)
        finally:
            source.backend.con.unregister(name)
        return
    with expression.cache() as cached:
        yield _sorted(_database_arrow(source, cached), "code"), cached


# Booleans come out of SQLite as 0/1; they are read as integers and cast afterwards.
_SQLITE_FETCH_TYPES = (pa.types.is_integer, pa.types.is_floating, pa.types.is_string)
_SQLITE_FETCH_ROWS = 100_000


def _database_arrow(source: Source, expression) -> pa.Table:
    """The rows of ``expression`` (villages or towns: no instants) as Arrow.

    On SQLite, Ibis's export builds a pandas DataFrame of Python objects and converts it
    column by column: about 80 % of an evaluation over 666,655 villages. Here the rows go
    from the cursor straight into Arrow, by batches. Other backends (and any column of
    another type) keep Ibis's own export."""
    if source.kind != "db":
        return expression.to_pyarrow()
    schema = expression.schema().to_pyarrow()
    fetched = pa.schema(
        [pa.field(f.name, pa.int64()) if pa.types.is_boolean(f.type) else f for f in schema]
    )
    simple = all(any(test(f.type) for test in _SQLITE_FETCH_TYPES) for f in fetched)
    if source.backend.name != "sqlite" or not simple:
        return expression.to_pyarrow()
    row_type = pa.struct(list(fetched))
    cursor = source.backend.con.execute(source.backend.compile(expression))
    batches = []
    while rows := cursor.fetchmany(_SQLITE_FETCH_ROWS):
        batches.append(pa.RecordBatch.from_struct_array(pa.array(rows, type=row_type)))
    cursor.close()
    return pa.Table.from_batches(batches, schema=fetched).cast(schema)


def _duckdb_arrow(source: Source, expression) -> pa.Table:
    """The rows of ``expression`` from DuckDB as Arrow, cast to the expression's schema (sums
    come back as 128-bit integers). A relation's whole-table export, as Ibis's own export
    does, without its column-by-column conversion afterwards: over the 666,655 villages
    about 0.2 s faster than a cursor's record-batch reader (``docs/benchmarks.md``)."""
    relation = source.backend.con.sql(source.backend.compile(expression))
    return relation.to_arrow_table().cast(expression.schema().to_pyarrow())


def _sorted(table: pa.Table, column: str) -> pa.Table:
    return table.take(pc.sort_indices(table, sort_keys=[(column, "ascending")]))


def _labeled_places(villages: pa.Table) -> list[Place]:
    columns = ["code", "township_code", "county_code", "sales_fen", "lat", "lon"]
    columns.append("position_level")
    labeled = villages.filter(pc.equal(villages.column("labeled"), True))
    return [Place(**row) for row in labeled.select(columns).to_pylist()]

"""Where the engine's input comes from: the canonical tables of decision 0002, built over a
backend. Nothing else knows where the data lives.

* ``db`` — the platform database (SQLite or PostgreSQL) through Ibis's own backend, **on
  Django's connection**: the engine reads inside whatever transaction Django has open, so
  it sees exactly what the platform sees (also in tests, whose data never leaves the test
  transaction, and with SQLite's in-memory test database). DuckDB's sqlite extension is not
  used: it would be downloaded at run time.
* ``parquet:DIR`` — DuckDB over ``DIR/divisions.parquet`` (or ``.csv.gz`` / ``.csv``),
  ``DIR/shops/*.parquet`` and ``DIR/orders/*.parquet`` (or ``DIR/shops.parquet``,
  ``DIR/orders.parquet``), in the interchange formats of ``docs/formats.md``.
* ``spark:DIR`` — the same layout read by PySpark (master from ``TAOCUN_SPARK_MASTER``,
  default ``local[2]``; session time zone UTC; no web UI).

The canonical tables (decision 0002, plus ``shops.household_key`` for the
households-with-a-shop basis of the household share):

* ``divisions``: ``code, name, level, parent_code, ur_code, households, lat, lon``
* ``shops``: ``shop_key, platform, village_code, opened_at, closed_at, household_key``
* ``orders``: ``shop_key, platform, paid_at, status, amount_cny_fen, refunded_cny_fen``

Shops and orders join on ``(platform, shop_key)`` in files, on ``shop_key`` alone (the
shop's row id) in the platform database (``Source.shop_keys``). Instants are UTC; file
instants without an offset are China time (UTC+8 — China has kept no daylight-saving time
since 1991).
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.parquet as pq
from django.utils.translation import gettext as _

from taocun.core.errors import NotFound, ValidationError

CHINA_OFFSET = ibis.interval(hours=8)
# An ISO 8601 text that carries its own offset ("Z", "+08:00", "+0800", "+08").
OFFSET_SUFFIX = r"([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$"
SPARK_MASTER_ENV = "TAOCUN_SPARK_MASTER"
DEFAULT_SPARK_MASTER = "local[2]"


@dataclass
class Source:
    """The canonical tables over one backend. ``stores`` is true for the platform database,
    whose evaluations are kept as ``labels.Evaluation`` rows."""

    spec: str
    kind: str
    backend: Any
    divisions: ir.Table
    shops: ir.Table
    orders: ir.Table

    @property
    def stores(self) -> bool:
        return self.kind == "db"

    @property
    def reads_files(self) -> bool:
        return self.kind != "db"

    @property
    def shop_keys(self) -> tuple[str, ...]:
        """The columns that identify a shop in both ``shops`` and ``orders``."""
        return ("shop_key",) if self.kind == "db" else ("platform", "shop_key")


def source_parse(spec: str) -> tuple[str, Path | None]:
    """``db``, ``parquet:DIR`` or ``spark:DIR`` → (kind, directory)."""
    text = (spec or "db").strip()
    if text == "db":
        return "db", None
    kind, _sep, rest = text.partition(":")
    if kind not in {"parquet", "spark"} or not rest.strip():
        raise ValidationError(
            _("Unknown source %(spec)r: use db, parquet:DIR or spark:DIR") % {"spec": text},
            field="source",
        )
    directory = Path(rest.strip()).expanduser()
    if not directory.is_dir():
        raise NotFound(
            _("The source folder %(path)s does not exist") % {"path": str(directory)},
            field="source",
        )
    return kind, directory


@contextlib.contextmanager
def source_opened(spec: str = "db") -> Iterator[Source]:
    """The canonical tables for ``spec``; the backend is released on exit."""
    kind, directory = source_parse(spec)
    if kind == "db":
        with _database() as source:
            yield source
        return
    backend = ibis.duckdb.connect() if kind == "parquet" else ibis.pyspark.connect(spark_session())
    try:
        yield _files_source(spec.strip(), kind, backend, directory)
    finally:
        if kind == "parquet":
            backend.disconnect()


# --- the platform database ------------------------------------------------------------


class _SqliteWithoutTransactions:
    """Django's sqlite3 connection handed to Ibis with ``commit``/``rollback`` disabled.

    Ibis's SQLite backend commits after every statement it runs; on Django's connection
    that would end the transaction Django (or a test) has open. Reads need no transaction
    control, and the temporary tables Ibis creates for caching are per connection.
    """

    def __init__(self, raw) -> None:
        self._raw = raw

    def __getattr__(self, name: str):
        return getattr(self._raw, name)

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass


@contextlib.contextmanager
def _database() -> Iterator[Source]:
    from django.db import connection

    from taocun.regions.models import Division
    from taocun.sales.models import SalesOrder, Shop

    connection.ensure_connection()
    raw = connection.connection
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # from_connection is marked experimental
        if connection.vendor == "sqlite":
            backend = ibis.sqlite.from_connection(_SqliteWithoutTransactions(raw))
        elif connection.vendor == "postgresql":
            backend = ibis.postgres.from_connection(raw)
        else:
            raise ValidationError(
                _("The label engine runs on SQLite or PostgreSQL, not %(vendor)s")
                % {"vendor": connection.vendor},
                field="source",
            )

    def column(model, name: str) -> str:
        return model._meta.get_field(name).column

    division = backend.table(Division._meta.db_table)
    shop = backend.table(Shop._meta.db_table)
    order = backend.table(SalesOrder._meta.db_table)
    divisions = division.select(
        code=_as(division[column(Division, "code")], "string"),
        name=_as(division[column(Division, "name")], "string"),
        level=_as(division[column(Division, "level")], "string"),
        parent_code=_as(division[column(Division, "parent")], "string"),
        ur_code=_as(division[column(Division, "ur_code")], "string").nullif(""),
        households=_as(division[column(Division, "households")], "int64"),
        lat=_as(division[column(Division, "lat")], "float64"),
        lon=_as(division[column(Division, "lon")], "float64"),
    )
    shops = shop.select(
        shop_key=_as(shop[column(Shop, "id")], "int64"),
        platform=_as(shop[column(Shop, "platform")], "string"),
        village_code=_as(shop[column(Shop, "village")], "string"),
        opened_at=shop[column(Shop, "opened_at")],
        closed_at=shop[column(Shop, "closed_at")],
        household_key=_as(shop[column(Shop, "household")], "int64"),
    )
    orders = order.select(
        shop_key=_as(order[column(SalesOrder, "shop")], "int64"),
        platform=_as(order[column(SalesOrder, "platform")], "string"),
        paid_at=order[column(SalesOrder, "paid_at")],
        status=_as(order[column(SalesOrder, "status")], "string"),
        amount_cny_fen=_as(order[column(SalesOrder, "amount_cny_fen")], "int64"),
        refunded_cny_fen=_as(order[column(SalesOrder, "refunded_cny_fen")], "int64"),
    )
    try:
        yield Source("db", "db", backend, divisions, shops, orders)
    finally:
        if connection.vendor == "sqlite":
            # Ibis turns on case-sensitive LIKE; Django's lookups expect SQLite's default.
            raw.execute("PRAGMA case_sensitive_like = OFF")


def _as(column: ir.Value, dtype: str) -> ir.Value:
    """``column`` as ``dtype``, with no CAST when it already is one (a ``varchar(12)`` is a
    string, a ``bigint`` an int64): SQLite can neither search an index for a cast column
    nor build an automatic one on it, so a join on ``CAST(code AS TEXT)`` is a nested loop
    over both tables: hours for the national divisions table joined to itself."""
    wanted = ibis.dtype(dtype)
    current = column.type()
    if (wanted.is_string() and current.is_string()) or current.copy(nullable=True) == wanted:
        return column
    return column.cast(wanted)


# --- folders of files (DuckDB, PySpark) -----------------------------------------------


def spark_session():
    """The process's Spark session (created once): ``TAOCUN_SPARK_MASTER`` or local[2]."""
    from pyspark.sql import SparkSession

    master = os.environ.get(SPARK_MASTER_ENV) or DEFAULT_SPARK_MASTER
    builder = (
        SparkSession.builder.master(master)
        .appName("taocun-labels")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
    )
    if master.startswith("local"):
        builder = builder.config("spark.sql.shuffle.partitions", "8")
    session = builder.getOrCreate()
    session.conf.set("spark.sql.session.timeZone", "UTC")
    return session


def _files(directory: Path, name: str) -> tuple[str, list[Path]]:
    """``DIR/name/*.parquet`` or ``DIR/name.parquet``: (what to read, the files)."""
    folder = directory / name
    if folder.is_dir():
        files = sorted(folder.glob("*.parquet"))
        if files:
            return str(folder / "*.parquet"), files
    single = directory / f"{name}.parquet"
    if single.is_file():
        return str(single), [single]
    raise NotFound(
        _("No %(name)s Parquet files in %(path)s (expected %(name)s/*.parquet)")
        % {"name": name, "path": str(directory)},
        field="source",
        location=str(directory),
    )


def _arrow_schema(files: list[Path]) -> pa.Schema:
    try:
        return pq.read_schema(files[0])
    except (pa.ArrowInvalid, OSError) as error:
        raise ValidationError(
            _("Not a readable Parquet file: %(error)s") % {"error": str(error)},
            location=str(files[0]),
            field="file",
        ) from None


def _require(schema_names: list[str], required: tuple[str, ...], where: str) -> None:
    for name in required:
        if name not in schema_names:
            raise ValidationError(
                _("The required column %(column)s is missing") % {"column": name},
                field=name,
                location=where,
            )


def _text(column: ir.Value) -> ir.StringValue:
    # No trimming: Ibis's strip() is wrong on Spark (its trim set holds "\v", read as "v").
    text = column if column.type().is_string() else column.cast("string")
    return text.nullif("")


def _utc(column: ir.Value, arrow_type: pa.DataType) -> ir.TimestampValue:
    """An instant column in UTC: aware timestamps as they are, naive ones (and texts without
    an offset) read as China time."""
    if pa.types.is_timestamp(arrow_type):
        return column if arrow_type.tz else column - CHINA_OFFSET
    if pa.types.is_date(arrow_type):
        return column.cast("timestamp") - CHINA_OFFSET
    text = column.cast("string").nullif("")
    parsed = text.cast("timestamp('UTC')")
    return ibis.ifelse(text.re_search(OFFSET_SUFFIX), parsed, parsed - CHINA_OFFSET)


def _fen(column: ir.Value, arrow_type: pa.DataType) -> ir.IntegerValue:
    """A yuan amount (decimal, text, integer or float) as integer fen."""
    if pa.types.is_integer(arrow_type):
        return column.cast("int64") * 100
    if pa.types.is_decimal(arrow_type) or pa.types.is_floating(arrow_type):
        return (column * 100).round(0).cast("int64")
    text = column.cast("string").nullif("")
    return (text.cast("decimal(20, 2)") * 100).round(0).cast("int64")


def _read(backend, kind: str, target: str, *, csv: bool = False) -> ir.Table:
    if kind == "spark" and target.endswith("*.parquet"):
        target = target.removesuffix("*.parquet")
    if csv:
        if kind == "spark":
            return backend.read_csv(target, header=True, encoding="UTF-8")
        return backend.read_csv(target, all_varchar=True, header=True)
    return backend.read_parquet(target)


def _only_cny(files: list[Path]) -> bool:
    """Whether the Parquet statistics prove every order is in CNY (or has no currency),
    which saves a scan of the currency column; ``False`` means "look at the rows"."""
    for path in files:
        metadata = pq.ParquetFile(path).metadata
        index = metadata.schema.to_arrow_schema().get_field_index("currency")
        for group in range(metadata.num_row_groups):
            column = metadata.row_group(group).column(index)
            stats = column.statistics
            if stats is None:
                return False
            if stats.null_count == column.num_values or metadata.row_group(group).num_rows == 0:
                continue
            if not stats.has_min_max or stats.min != "CNY" or stats.max != "CNY":
                return False
    return True


def _files_source(spec: str, kind: str, backend, directory: Path) -> Source:
    divisions = _divisions(backend, kind, directory)
    shops_target, shops_files = _files(directory, "shops")
    orders_target, orders_files = _files(directory, "orders")
    shops_schema = _arrow_schema(shops_files)
    orders_schema = _arrow_schema(orders_files)
    _require(
        shops_schema.names,
        ("platform", "shop_id", "village_code", "opened_at"),
        str(shops_files[0]),
    )
    _require(
        orders_schema.names,
        ("platform", "shop_id", "amount", "paid_at", "status"),
        str(orders_files[0]),
    )
    raw_shops = _read(backend, kind, shops_target)
    raw_orders = _read(backend, kind, orders_target)

    # Join keys keep their own type when both files agree (no cast over 100 M orders).
    same_key_type = shops_schema.field("shop_id").type == orders_schema.field("shop_id").type

    def key(table: ir.Table) -> ir.Value:
        return table.shop_id if same_key_type else table.shop_id.cast("string")

    shop_types = {field.name: field.type for field in shops_schema}
    order_types = {field.name: field.type for field in orders_schema}
    shops = raw_shops.select(
        shop_key=key(raw_shops),
        platform=raw_shops.platform.cast("string"),
        village_code=_text(raw_shops.village_code),
        opened_at=_utc(raw_shops.opened_at, shop_types["opened_at"]),
        closed_at=(
            _utc(raw_shops.closed_at, shop_types["closed_at"])
            if "closed_at" in shop_types
            else ibis.null("timestamp")
        ),
        household_key=(
            _text(raw_shops.household_id) if "household_id" in shop_types else ibis.null("string")
        ),
    )
    refunded = (
        _fen(raw_orders.refunded_amount, order_types["refunded_amount"]).coalesce(0)
        if "refunded_amount" in order_types
        else ibis.literal(0, "int64")
    )
    orders = raw_orders.select(
        shop_key=key(raw_orders),
        platform=raw_orders.platform.cast("string"),
        paid_at=_utc(raw_orders.paid_at, order_types["paid_at"]),
        status=raw_orders.status.cast("string"),
        amount_cny_fen=_fen(raw_orders.amount, order_types["amount"]),
        refunded_cny_fen=refunded,
    )
    if "currency" in order_types and not _only_cny(orders_files):
        foreign = raw_orders.filter(
            raw_orders.currency.notnull() & (raw_orders.currency.cast("string") != "CNY")
        ).count()
        if foreign.execute():
            raise ValidationError(
                _(
                    "Orders in currencies other than CNY: convert them to CNY before "
                    "evaluating (the engine never applies exchange rates)"
                ),
                field="currency",
                location=str(orders_files[0]),
            )
    return Source(spec, kind, backend, divisions, shops, orders)


def _divisions(backend, kind: str, directory: Path) -> ir.Table:
    for name in ("divisions.parquet", "divisions.csv.gz", "divisions.csv"):
        path = directory / name
        if path.is_file():
            csv = not name.endswith(".parquet")
            break
    else:
        raise NotFound(
            _("No divisions file in %(path)s (divisions.parquet, .csv.gz or .csv)")
            % {"path": str(directory)},
            field="source",
            location=str(directory),
        )
    raw = _read(backend, kind, str(path), csv=csv)
    _require(raw.columns, ("code", "name", "level", "parent_code"), str(path))

    def optional(name: str, dtype: str) -> ir.Value:
        if name not in raw.columns:
            return ibis.null(dtype)
        value = raw[name]
        if dtype == "string":
            return _text(value)
        if value.type().is_string():
            value = value.nullif("")
        return value.cast(dtype)

    def key(name: str) -> ir.StringValue:
        # Required columns are never empty but a province's parent: as they are (an empty
        # parent joins nothing), which keeps DuckDB's filters on them pushed into the scan.
        value = raw[name]
        return value if value.type().is_string() else value.cast("string")

    return raw.select(
        code=key("code"),
        name=key("name"),
        level=key("level"),
        parent_code=_text(raw.parent_code),
        ur_code=optional("ur_code", "string"),
        households=optional("households", "int64"),
        lat=optional("lat", "float64"),
        lon=optional("lon", "float64"),
    )

"""The demo's sales ledger: a small synthetic multi-platform ledger of the demo counties.

``taocun.synth`` writes it from the divisions already in the database (so its households
are the demo's), in a few runs: the villages of the published 2016 Taobao-village list by
county or township (the e-commerce villages), then a thin spread of small shops over every
demo village. Both are imported through the real ``sales`` imports.

The label thresholds are absolute (¥10,000,000 a year per village), and a real Taobao
village sells that with tens of thousands of orders a year. To stay fast, the demo keeps
about a hundred thousand orders in all and multiplies every order's value by
``AMOUNT_SCALE``: one demo order stands for that many real ones. Everything here is
invented for the demo (``docs/demo.md``).
"""

import csv
import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from taocun.core.chinatime import CHINA_TZ
from taocun.regions.models import Division, Level
from taocun.synth.generator import synth_generate

TAOBAO_VILLAGES_2016 = Path(__file__).parent / "data" / "taobao-villages-2016-demo.csv"
LEDGER_YEARS = (2018, 2022)
# The ledger as exported at the end of June 2022: the windows of the 2019, 2020 and 2022
# rounds (July to June) and the year between them.
LEDGER_START = datetime(2018, 7, 1, tzinfo=CHINA_TZ)
LEDGER_END = datetime(2022, 7, 1, tzinfo=CHINA_TZ)
# Synth runs: (name, code prefix, orders, shops). The villages of the 2016 list go to the
# first run whose prefix they start with; each run shares one county (and mostly one
# township), so only the villages' own draws tell its villages apart. The last run spreads
# small shops thinly over every demo village.
RUNS = (
    ("dj", "371721121", 150_000, 3_200),  # 曹县大集镇: the seller's township
    ("sj", "320324109", 50_000, 1_300),  # 睢宁县沙集镇: the "Shaji model"
    ("yw", "330782", 16_000, 700),  # 义乌: many urban communities (not eligible from 2020)
    ("cx", "371721", 6_000, 400),  # the rest of 曹县
    ("sn", "320324", 5_000, 350),  # the rest of 睢宁县
    ("hb", "1305", 8_000, 500),  # 清河县 and 平乡县
    ("all", "", 8_000, 1_400),
)
AMOUNT_SCALE = 40
DIVISION_COLUMNS = ("code", "name", "level", "parent_code", "ur_code", "households", "lat", "lon")
_TOWNSHIP_SUFFIX = re.compile(r"(街道办事处|街道|镇|乡)$")
_COMMITTEE_SUFFIX = re.compile(r"(村民委员会|村委会|社区居委会|居委会|委会)$")


def _short_name(name: str) -> str:
    """``丁楼村民委员会`` → ``丁楼``: the list names villages without the committee."""
    return _COMMITTEE_SUFFIX.sub("", name).removesuffix("村").removesuffix("社区")


def _township_stem(county: str, township: str) -> str:
    """``曹县大集镇`` → ``大集``: the table prefixes some townships with their county."""
    return _TOWNSHIP_SUFFIX.sub("", township.removeprefix(county))


def taobao_villages_2016() -> list[str]:
    """Codes of the demo villages named in the published 2016 list, in code order.

    Names differ in form between the list and the division table (``丁楼村`` /
    ``丁楼村民委员会``, ``东街村`` / ``大集东街村民委员会``), so both are normalised.
    """
    with TAOBAO_VILLAGES_2016.open(encoding="utf-8") as handle:
        listed = {
            (
                row["county"],
                _township_stem(row["county"], row["township"]),
                _short_name(row["village"]),
            )
            for row in csv.DictReader(handle)
        }
    names = dict(Division.objects.exclude(level=Level.VILLAGE).values_list("code", "name"))
    codes = []
    for code, name in (
        Division.objects.filter(level=Level.VILLAGE).order_by("code").values_list("code", "name")
    ):
        county = names.get(code[:6] + "000000", "")
        stem = _township_stem(county, names.get(code[:9] + "000", ""))
        village = _short_name(name)
        if (county, stem, village) in listed or (
            county,
            stem,
            village.removeprefix(stem),
        ) in listed:
            codes.append(code)
    return codes


def _divisions_file(path: Path, villages: list[str] | None) -> Path:
    """The villages (all when None) and their ancestors, as synth reads them."""
    fields = ["parent_id" if name == "parent_code" else name for name in DIVISION_COLUMNS]
    rows = list(Division.objects.order_by("code").values_list(*fields))
    if villages is not None:
        wanted = set(villages)
        ancestors = {c[:n].ljust(12, "0") for c in wanted for n in (2, 4, 6, 9)}
        rows = [row for row in rows if row[0] in wanted or row[0] in ancestors]
    columns = list(zip(*rows, strict=True))
    table = pa.table(
        {
            name: pa.array(
                [None if value in ("", None) else value for value in values],
                type=pa.int64()
                if name == "households"
                else pa.float64()
                if name in ("lat", "lon")
                else pa.string(),
            )
            for name, values in zip(DIVISION_COLUMNS, columns, strict=True)
        }
    )
    pq.write_table(table, path)
    return path


def _scaled(yuan: pa.ChunkedArray) -> pa.ChunkedArray:
    scaled = pc.multiply(yuan, pa.scalar(Decimal(AMOUNT_SCALE), pa.decimal128(4, 0)))
    return pc.cast(scaled, pa.decimal128(18, 2))


def _part(folder: Path, prefix: str) -> tuple[pa.Table, pa.Table]:
    shops = pq.read_table(folder / "shops")
    orders = pq.read_table(folder / "orders")
    paid = orders["paid_at"]
    orders = orders.filter(
        pc.and_(
            pc.greater_equal(paid, pa.scalar(LEDGER_START, paid.type)),
            pc.less(paid, pa.scalar(LEDGER_END, paid.type)),
        )
    )
    shops = shops.set_column(
        shops.column_names.index("shop_id"),
        "shop_id",
        pc.binary_join_element_wise(prefix, shops["shop_id"], ""),
    )
    for name in ("shop_id", "order_id"):
        orders = orders.set_column(
            orders.column_names.index(name),
            name,
            pc.binary_join_element_wise(prefix, orders[name], ""),
        )
    for name in ("amount", "refunded_amount"):
        orders = orders.set_column(orders.column_names.index(name), name, _scaled(orders[name]))
    return shops, orders


def ledger_files_write(*, folder: Path, seed: int) -> tuple[Path, Path]:
    """Generate the demo ledger under ``folder``; return the shops and orders files."""
    listed = taobao_villages_2016()
    shops, orders = [], []
    for prefix, code_prefix, order_count, shop_count in RUNS:
        if code_prefix:
            villages = [code for code in listed if code.startswith(code_prefix)]
            listed = [code for code in listed if code not in villages]
        else:
            villages = None
        divisions = _divisions_file(folder / f"divisions-{prefix}.parquet", villages)
        synth_generate(
            out=folder / prefix,
            orders=order_count,
            shops=shop_count,
            divisions=divisions,
            years=LEDGER_YEARS,
            seed=seed,
            overwrite=True,
        )
        part_shops, part_orders = _part(folder / prefix, f"{prefix}{seed}-")
        shops.append(part_shops)
        orders.append(part_orders)
    shops_path, orders_path = folder / "shops.parquet", folder / "orders.parquet"
    pq.write_table(pa.concat_tables(shops), shops_path)
    pq.write_table(pa.concat_tables(orders), orders_path)
    return shops_path, orders_path

"""The demo's sales ledger: a small synthetic multi-platform ledger of the demo counties.

``taocun.synth`` writes it from the divisions already in the database (so its households
are the demo's), in a few runs: the villages of the published 2016 Taobao-village list by
county or township (the e-commerce villages), then a thin spread of small shops over every
demo village. Both are imported through the real ``sales`` imports.

The label thresholds are absolute (¥10,000,000 a year per village). Order values stay
real-ish (synth's product lines and price levels, with a price scale where a place's
goods cost more, such as 沙集镇's furniture); the orders go where labels are to be earned,
each village committee of 沙集镇 in a run of its own, so that the stored rounds show
labelled villages, a Taobao town and, in 2022, a cluster. Everything here is invented for
the demo (``docs/demo.md``).
"""

import csv
import re
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from taocun.core.chinatime import CHINA_TZ
from taocun.regions.models import Division, Level
from taocun.synth.economy import HISTORY_YEARS, SHOP_SIGMA
from taocun.synth.generator import synth_generate

TAOBAO_VILLAGES_2016 = Path(__file__).parent / "data" / "taobao-villages-2016-demo.csv"
LEDGER_YEARS = (2018, 2022)
# The ledger as exported at the end of June 2022: the windows of the 2019, 2020 and 2022
# rounds (July to June) and the year between them.
LEDGER_START = datetime(2018, 7, 1, tzinfo=CHINA_TZ)
LEDGER_END = datetime(2022, 7, 1, tzinfo=CHINA_TZ)


@dataclass(frozen=True)
class Run:
    """One synth run: the listed villages it covers and how their trade looks.

    ``prefixes`` are code prefixes (a county, a township or single villages); a listed
    village goes to the first run with a prefix it starts with. A run without prefixes
    spreads its shops thinly over every demo village. ``orders`` and ``shops`` are for the
    generated calendar years 2018-2022; the ledger keeps July 2018 - June 2022 of them.
    """

    name: str
    prefixes: tuple[str, ...]
    orders: int
    shops: int
    line: str | None = None  # what the place sells (synth --product-line)
    price_scale: float = 1.0  # synth --price-scale
    shop_sigma: float = SHOP_SIGMA  # synth --shop-sigma
    history_years: float = HISTORY_YEARS  # synth --history-years


# 沙集镇 (睢宁县) has sold furniture online since 2006 (the "Shaji model"), by 2020 much of
# it solid wood: an order is often a bed or a wardrobe (price scale 2.5, about ¥1,400 an
# order on average). Each of its rural village committees is a run of its own, sized so
# that the labels spread over the rounds: pioneers trading for years (labelled from 2019),
# a second wave (from 2020) and followers booming late (2022), when the ten form a cluster.
FURNITURE = {"line": "furniture", "price_scale": 2.5, "shop_sigma": 0.5}
SHAJI = (
    # code, orders, shops, years of trading before the ledger
    ("320324109206", 80_000, 600, 8),  # 三丁: pioneer
    ("320324109207", 84_000, 640, 8),  # 仝圩: pioneer
    ("320324109209", 84_000, 700, 8),  # 丁陈: pioneer
    ("320324109204", 80_000, 560, 1),  # 朱庙: second wave
    ("320324109210", 47_000, 450, 1),  # 大顾: followers
    ("320324109208", 45_000, 420, 1),  # 杨瓦
    ("320324109212", 46_000, 440, 1),  # 商湖
    ("320324109213", 46_000, 450, 1),  # 魏集
    ("320324109216", 45_000, 420, 1),  # 陆园
    ("320324109217", 47_000, 460, 1),  # 蔡吴
)
RUNS = (
    *(
        Run(f"sj{code[-3:]}", (code,), orders, shops, history_years=history, **FURNITURE)
        for code, orders, shops, history in SHAJI
    ),
    # The rest of 沙集镇: 东风 (the birthplace, now a residents' committee), the other
    # communities and three village committees with urban codes (余圩, 夏圩, 兴国).
    Run("sj", ("320324109",), 12_000, 400, history_years=8, **FURNITURE),
    Run("dj", ("371721121",), 24_000, 1_200, "apparel", 2.0),  # 曹县大集镇: 汉服, stage costumes
    Run("yw", ("330782",), 16_000, 700, "handicrafts"),  # 义乌: small commodities
    Run("cx", ("371721",), 6_000, 400, "furniture", 1.5),  # the rest of 曹县: woodwork
    Run("sn", ("320324",), 5_000, 350, "furniture", 1.5),  # the rest of 睢宁县
    Run("hb", ("1305",), 8_000, 500),  # 清河县 and 平乡县
    Run("all", (), 8_000, 1_400),
)
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
    return shops, orders


def ledger_files_write(*, folder: Path, seed: int) -> tuple[Path, Path]:
    """Generate the demo ledger under ``folder``; return the shops and orders files."""
    listed = taobao_villages_2016()
    shops, orders = [], []
    for run in RUNS:
        if run.prefixes:
            villages = [code for code in listed if code.startswith(run.prefixes)]
            listed = [code for code in listed if not code.startswith(run.prefixes)]
        else:
            villages = None
        divisions = _divisions_file(folder / f"divisions-{run.name}.parquet", villages)
        synth_generate(
            out=folder / run.name,
            orders=run.orders,
            shops=run.shops,
            divisions=divisions,
            years=LEDGER_YEARS,
            # A stream of its own per run: two runs of the same size are not twins.
            seed=zlib.crc32(f"{seed}:{run.name}".encode()),
            overwrite=True,
            product_line=run.line,
            price_scale=run.price_scale,
            shop_sigma=run.shop_sigma,
            history_years=run.history_years,
        )
        part_shops, part_orders = _part(folder / run.name, f"{run.name}{seed}-")
        shops.append(part_shops)
        orders.append(part_orders)
    shops_path, orders_path = folder / "shops.parquet", folder / "orders.parquet"
    pq.write_table(pa.concat_tables(shops), shops_path)
    pq.write_table(pa.concat_tables(orders), orders_path)
    return shops_path, orders_path

"""One small, hand-computed world for the engine tests, loadable into every backend.

Each village tests one rule; the expected values in the tests are computed by hand from
the comments here. The window of the tests' rule sets ends on 2019-06-30 (China time): sales
from 2018-07-01, activity from 2019-04-01 (91 days), so "a month" of activity is 91/3 days.

The same scenario is loaded into the platform database (through the models) and written as
Parquet in two flavours: typed columns (timestamps, decimals) and text columns (ISO strings
with and without offsets, amounts as text, divisions as gzipped CSV), so the sources'
readers are exercised too.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from taocun.core.chinatime import CHINA_TZ

YIWU = "330782000000"
CAO = "371721000000"


def china(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=CHINA_TZ)


OLD = china(2018, 1, 1)
END = china(2019, 7, 1)  # the end of the cut-off day 2019-06-30
ACTIVITY_DAYS = [china(2019, 4, 15, 12), china(2019, 5, 15, 12), china(2019, 6, 15, 12)]


@dataclass
class Scenario:
    divisions: list[dict] = field(default_factory=list)
    shops: list[dict] = field(default_factory=list)
    orders: list[dict] = field(default_factory=list)

    def division(
        self, code, name, level, parent=None, *, ur_code="220", households=None, lat=None, lon=None
    ):
        self.divisions.append(
            {
                "code": code,
                "name": name,
                "level": level,
                "parent_code": parent,
                "ur_code": ur_code if level == "village" else None,
                "households": households,
                "lat": lat,
                "lon": lon,
            }
        )
        return code

    def shop(self, village, *, platform="taobao", opened=OLD, closed=None, household=None):
        shop_id = f"s{len(self.shops) + 1:04d}"
        self.shops.append(
            {
                "platform": platform,
                "shop_id": shop_id,
                "village_code": village,
                "opened_at": opened,
                "closed_at": closed,
                "household": household,
            }
        )
        return shop_id

    def order(self, shop_id, fen, when, *, status="completed", refunded=0):
        platform = next(s["platform"] for s in self.shops if s["shop_id"] == shop_id)
        self.orders.append(
            {
                "platform": platform,
                "order_id": f"o{len(self.orders) + 1:05d}",
                "shop_id": shop_id,
                "amount_fen": fen,
                "refunded_fen": refunded,
                "paid_at": when,
                "status": status,
            }
        )

    def active_shop(self, village, fen_each, *, platform="taobao", household=None, amounts=None):
        """A shop open since 2018 with one order in each month of the activity window."""
        shop_id = self.shop(village, platform=platform, household=household)
        for when, fen in zip(ACTIVITY_DAYS, amounts or [fen_each] * 3, strict=True):
            self.order(shop_id, fen, when)
        return shop_id

    def active_shops(self, village, count, fen_each, **kwargs):
        return [self.active_shop(village, fen_each, **kwargs) for _ in range(count)]


def build() -> Scenario:
    s = Scenario()
    s.division("330000000000", "浙江省", "province")
    s.division("330700000000", "金华市", "prefecture", "330000000000")
    s.division(YIWU, "义乌市", "county", "330700000000", lat=29.306863, lon=120.075058)
    s.division("370000000000", "山东省", "province")
    s.division("371700000000", "菏泽市", "prefecture", "370000000000")
    s.division(CAO, "曹县", "county", "371700000000")

    # --- T1 甲镇: thresholds at the boundary, households unknown, a residents' committee.
    t1 = s.division("330782001000", "甲镇", "township", YIWU, lat=29.6, lon=120.3)
    # 整数村: exactly ¥1,000.00 and exactly 3 active shops. Orders on the window's first and
    # last instants count; those just outside do not.
    v = s.division("330782001201", "整数村", "village", t1, households=100)
    first, second, _third = s.active_shops(v, 3, 10_000)
    s.order(first, 5_000, china(2018, 7, 1, 0, 0, 0))
    s.order(first, 5_000, china(2019, 6, 30, 23, 59, 59))
    s.order(second, 77_777, dt.datetime(2018, 6, 30, 23, 59, 59, 999_000, tzinfo=CHINA_TZ))
    s.order(second, 88_888, china(2019, 7, 1, 0, 0, 0))
    # 差一村: one fen short (¥999.99); 3 shops for 30 households pass both ways.
    v = s.division("330782001202", "差一村", "village", t1, households=30)
    first, *_ = s.active_shops(v, 3, 10_000)
    s.order(first, 9_999, china(2018, 12, 1, 9))
    # 户比村: 2 active shops for 20 households — exactly 10 %.
    v = s.division("330782001203", "户比村", "village", t1, households=20)
    s.active_shops(v, 2, 50_000)
    # 无户村 / 零户村: households unknown or 0 — the share is unknown.
    v = s.division("330782001204", "无户村", "village", t1, households=None)
    s.active_shops(v, 2, 50_000)
    v = s.division("330782001205", "零户村", "village", t1, households=0)
    s.active_shops(v, 2, 50_000)
    # 某社区居委会: a residents' committee (code 105), ineligible however much it sells.
    v = s.division("330782001105", "某社区居委会", "village", t1, ur_code="111", households=50)
    s.active_shops(v, 5, 50_000)

    # --- T2 乙镇: the active-shop rules, platforms, households with a shop, urban codes.
    t2 = s.division("330782002000", "乙镇", "township", YIWU, lat=29.9, lon=120.6)
    v = s.division("330782002201", "新店村", "village", t2, households=200)
    a = s.shop(v, opened=china(2019, 6, 1))  # open exactly 30 days: 1 order is enough
    s.order(a, 10_000, china(2019, 6, 10))
    b = s.shop(v, opened=china(2019, 6, 1, 0, 0, 1))  # one second short of 30 days
    for day in (2, 5, 10, 20, 25):
        s.order(b, 10_000, china(2019, 6, day))
    c = s.shop(v, opened=china(2019, 5, 1))  # 61 days old: 2 orders are not enough
    s.order(c, 10_000, china(2019, 5, 10))
    s.order(c, 10_000, china(2019, 6, 10))
    c2 = s.shop(v, opened=china(2019, 5, 1, 8))  # exactly 91 × 2/3 days old: 2 orders do
    s.order(c2, 10_000, china(2019, 5, 10))
    s.order(c2, 10_000, china(2019, 6, 10))
    c3 = s.shop(v, opened=china(2019, 5, 1, 7, 59, 59))  # one second older: they do not
    s.order(c3, 10_000, china(2019, 5, 10))
    s.order(c3, 10_000, china(2019, 6, 10))
    d = s.shop(v, opened=china(2019, 5, 15))  # 47 days old, 2 orders: active
    s.order(d, 10_000, china(2019, 5, 20))
    s.order(d, 10_000, china(2019, 6, 20))
    s.active_shop(v, 10_000)  # E: old, 3 orders
    f = s.shop(v)  # F: old, only 2 orders in the activity window (4 more before it)
    for when in (china(2018, 10, 1), china(2018, 10, 2), china(2018, 10, 3), china(2018, 10, 4)):
        s.order(f, 10_000, when)
    s.order(f, 10_000, ACTIVITY_DAYS[0])
    s.order(f, 10_000, ACTIVITY_DAYS[1])
    g = s.shop(v)  # G: one of 3 orders cancelled
    s.order(g, 10_000, ACTIVITY_DAYS[0])
    s.order(g, 10_000, ACTIVITY_DAYS[1])
    s.order(g, 10_000, ACTIVITY_DAYS[2], status="cancelled")
    h = s.shop(v)  # H: one of 3 orders fully refunded
    s.order(h, 10_000, ACTIVITY_DAYS[0])
    s.order(h, 10_000, ACTIVITY_DAYS[1])
    s.order(h, 10_000, ACTIVITY_DAYS[2], status="refunded", refunded=10_000)
    i = s.shop(v)  # I: one of 3 orders partly refunded: still active
    s.order(i, 10_000, ACTIVITY_DAYS[0])
    s.order(i, 10_000, ACTIVITY_DAYS[1])
    s.order(i, 10_000, ACTIVITY_DAYS[2], status="refunded", refunded=4_000)
    j = s.shop(v, closed=china(2019, 6, 30, 12))  # J: closed before the cut-off ends
    for when in ACTIVITY_DAYS:
        s.order(j, 10_000, when)
    k = s.shop(v, closed=END)  # K: closed at the very end: open at the cut-off
    for when in ACTIVITY_DAYS:
        s.order(k, 10_000, when)
    s.active_shop(v, 10_000, platform="jd")  # L: JD, not an Alibaba platform
    # 平台村: JD sells more than Taobao.
    v = s.division("330782002202", "平台村", "village", t2, households=1000)
    s.active_shops(v, 3, 25_000)
    s.active_shop(v, 100_000, platform="jd")
    # 平手村: Taobao and JD tie: Taobao is (one of) the largest.
    v = s.division("330782002203", "平手村", "village", t2, households=1000)
    s.active_shops(v, 3, 20_000)
    s.active_shop(v, 60_000, platform="jd")
    # Households with an active shop: two shops of one family count once.
    v = s.division("330782002204", "一户村", "village", t2, households=20)
    s.active_shops(v, 2, 20_000, household="一户村-王")
    s.active_shop(v, 20_000, household="一户村-李")
    v = s.division("330782002206", "同户村", "village", t2, households=20)
    s.active_shops(v, 3, 20_000, household="同户村-张")
    v = s.division("330782002207", "未知户村", "village", t2, households=20)
    s.active_shop(v, 20_000, household="未知户村-刘")
    s.active_shops(v, 2, 20_000)
    # Urban by its NBS code, and no code at all (ineligible from 2020).
    v = s.division("330782002205", "城镇村", "village", t2, ur_code="111", households=100)
    s.active_shops(v, 3, 20_000)
    v = s.division("330782002208", "无码村", "village", t2, ur_code=None, households=100)
    s.active_shops(v, 3, 20_000)

    # --- T4 丁镇: a township exactly at the 2019 town rule's sales threshold (strict).
    t4 = s.division("330782004000", "丁镇", "township", YIWU, lat=28.5, lon=121.0)
    v = s.division("330782004201", "恰好村", "village", t4, households=1000)
    s.active_shops(v, 5, 30_000)
    s.active_shop(v, 0, amounts=[20_000, 15_000, 15_000])

    # --- T5 戊镇: villages with their own coordinates; C4 is 22 km away.
    t5 = s.division("330782005000", "戊镇", "township", YIWU, lat=29.0, lon=119.5)
    for n, lat in enumerate((29.000, 29.020, 29.040, 29.200), start=1):
        v = s.division(
            f"33078200520{n}", f"坐标{n}村", "village", t5, households=1000, lat=lat, lon=119.5
        )
        s.active_shops(v, 3, 20_000)

    # --- T6 己镇: no coordinates (D1, D2 take the county's), D3 far away with its own;
    # they are one cluster because they share the township.
    t6 = s.division("330782006000", "己镇", "township", YIWU)
    for n in (1, 2, 3):
        own = {"lat": 29.8, "lon": 119.2} if n == 3 else {}
        v = s.division(f"33078200620{n}", f"己{n}村", "village", t6, households=1000, **own)
        s.active_shops(v, 3, 20_000)

    # --- 曹县: no coordinates anywhere: clustered by county (4 villages: large).
    for township, name in (("371721101000", "大集镇"), ("371721102000", "另镇")):
        s.division(township, name, "township", CAO)
        for n in (1, 2):
            v = s.division(
                f"{township[:9]}20{n}", f"{name}{n}村", "village", township, households=1000
            )
            s.active_shops(v, 3, 20_000)

    # --- T7 庚镇: the published 2019 thresholds met exactly: ¥10,000,000.00, 100 shops.
    t7 = s.division("330782007000", "庚镇", "township", YIWU, lat=30.5, lon=118.0)
    v = s.division("330782007201", "大村", "village", t7, households=1000)
    s.active_shops(v, 100, 0, amounts=[3_000_000, 3_000_000, 4_000_000])
    # 小村: no shop at all.
    s.division("330782007202", "小村", "village", t7, households=300)
    return s


# --- loading ---------------------------------------------------------------------------


def load_into_database(scenario: Scenario) -> None:
    """Insert the scenario through the models (the test database of the current test)."""
    from taocun.regions.models import Division, Household
    from taocun.sales.models import SalesOrder, Shop

    for row in scenario.divisions:  # parents come first
        Division.objects.create(
            code=row["code"],
            name=row["name"],
            level=row["level"],
            parent_id=row["parent_code"],
            ur_code=row["ur_code"] or "",
            households=row["households"],
            lat=row["lat"],
            lon=row["lon"],
        )
    households = {}
    for row in scenario.shops:
        label = row["household"]
        if label and label not in households:
            households[label] = Household.objects.create(
                village_id=row["village_code"], head_name=label.split("-")[1], members=4
            )
    shops = Shop.objects.bulk_create(
        [
            Shop(
                platform=row["platform"],
                shop_id=row["shop_id"],
                village_id=row["village_code"],
                opened_at=row["opened_at"],
                closed_at=row["closed_at"],
                household=households.get(row["household"]),
            )
            for row in scenario.shops
        ]
    )
    by_id = {shop.shop_id: shop for shop in Shop.objects.filter(pk__in=[s.pk for s in shops])}
    SalesOrder.objects.bulk_create(
        [
            SalesOrder(
                platform=row["platform"],
                order_id=row["order_id"],
                shop=by_id[row["shop_id"]],
                amount_fen=row["amount_fen"],
                refunded_fen=row["refunded_fen"],
                amount_cny_fen=row["amount_fen"],
                refunded_cny_fen=row["refunded_fen"],
                paid_at=row["paid_at"],
                status=row["status"],
            )
            for row in scenario.orders
        ]
    )


def _yuan(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2).quantize(Decimal("0.01"))


def write_files(scenario: Scenario, directory: Path, *, text: bool = False) -> Path:
    """The scenario as a source folder: typed Parquet, or text columns (``text=True``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (directory / "shops").mkdir(parents=True, exist_ok=True)
    (directory / "orders").mkdir(parents=True, exist_ok=True)
    divisions = pa.Table.from_pylist(
        scenario.divisions,
        schema=pa.schema(
            [
                ("code", pa.string()),
                ("name", pa.string()),
                ("level", pa.string()),
                ("parent_code", pa.string()),
                ("ur_code", pa.string()),
                ("households", pa.int64()),
                ("lat", pa.float64()),
                ("lon", pa.float64()),
            ]
        ),
    )
    if text:
        buffer = io.StringIO()
        buffer.write("code,name,level,parent_code,ur_code,households,lat,lon\r\n")
        for row in scenario.divisions:
            buffer.write(
                ",".join("" if row[c] is None else str(row[c]) for c in divisions.column_names)
                + "\r\n"
            )
        (directory / "divisions.csv.gz").write_bytes(gzip.compress(buffer.getvalue().encode()))
    else:
        pq.write_table(divisions, directory / "divisions.parquet")

    def naive_china(value: dt.datetime | None) -> dt.datetime | None:
        return None if value is None else value.astimezone(CHINA_TZ).replace(tzinfo=None)

    def iso(value: dt.datetime | None, index: int) -> str | None:
        """Alternate forms: naive China time, an explicit +08:00, and UTC with Z."""
        if value is None:
            return None
        if index % 3 == 0:
            return naive_china(value).isoformat(sep=" ")
        if index % 3 == 1:
            return value.astimezone(CHINA_TZ).isoformat()
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")

    shops = {
        "platform": [r["platform"] for r in scenario.shops],
        "shop_id": [r["shop_id"] for r in scenario.shops],
        "village_code": [r["village_code"] for r in scenario.shops],
        "household_id": [r["household"] for r in scenario.shops],
    }
    if text:
        shops["opened_at"] = [iso(r["opened_at"], n) for n, r in enumerate(scenario.shops)]
        shops["closed_at"] = pa.array(
            [iso(r["closed_at"], n) for n, r in enumerate(scenario.shops)], pa.string()
        )
    else:  # naive timestamps: China time
        shops["opened_at"] = pa.array(
            [naive_china(r["opened_at"]) for r in scenario.shops], pa.timestamp("us")
        )
        shops["closed_at"] = pa.array(
            [naive_china(r["closed_at"]) for r in scenario.shops], pa.timestamp("us")
        )
    pq.write_table(pa.table(shops), directory / "shops" / "part-0.parquet")

    half = len(scenario.orders) // 2
    for part, rows in enumerate((scenario.orders[:half], scenario.orders[half:])):
        orders = {
            "platform": [r["platform"] for r in rows],
            "order_id": [r["order_id"] for r in rows],
            "shop_id": [r["shop_id"] for r in rows],
            "status": [r["status"] for r in rows],
        }
        if text:
            orders["amount"] = [str(_yuan(r["amount_fen"])) for r in rows]
            orders["refunded_amount"] = [
                str(_yuan(r["refunded_fen"])) if r["refunded_fen"] else "" for r in rows
            ]
            orders["paid_at"] = [iso(r["paid_at"], n) for n, r in enumerate(rows)]
            orders["currency"] = ["CNY"] * len(rows)
        else:
            orders["amount"] = pa.array(
                [_yuan(r["amount_fen"]) for r in rows], pa.decimal128(18, 2)
            )
            orders["refunded_amount"] = pa.array(
                [_yuan(r["refunded_fen"]) if r["refunded_fen"] else None for r in rows],
                pa.decimal128(18, 2),
            )
            orders["paid_at"] = pa.array(
                [r["paid_at"].astimezone(dt.UTC) for r in rows], pa.timestamp("us", tz="UTC")
            )
        pq.write_table(pa.table(orders), directory / "orders" / f"part-{part}.parquet")
    return directory

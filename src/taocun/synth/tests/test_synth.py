"""``taocun synth``: the files it writes, checked against the interchange formats of
``docs/formats.md`` and for the realism the issue asks (heavy tails, seasons, growth,
refunds). Small runs on the demo slice of the division table; no database needed except
for the import round trip."""

import gzip
import hashlib
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command, get_commands
from django.core.management.base import CommandError
from django.utils import translation

from taocun.core.chinatime import CHINA_TZ, parse_instant
from taocun.core.errors import Conflict, ValidationError
from taocun.synth.generator import DEMO_DIVISIONS, default_divisions_path, synth_generate
from taocun.synth.management.commands.synth import Command as SynthCommand

ORDERS_COLUMNS = [
    "platform",
    "order_id",
    "shop_id",
    "amount",
    "paid_at",
    "status",
    "currency",
    "refunded_amount",
]
SHOPS_COLUMNS = [
    "platform",
    "shop_id",
    "village_code",
    "opened_at",
    "kind",
    "household_id",
    "closed_at",
]


def generate(out: Path, **options):
    settings = {"orders": 40_000, "shops": 800, "divisions": DEMO_DIVISIONS, "seed": 7}
    settings.update(options)
    return synth_generate(out=out, **settings)


def read(folder: Path) -> pa.Table:
    return pa.concat_tables(pq.read_table(path) for path in sorted(folder.glob("part-*")))


def digest(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def ledger(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ledger")
    generate(out, orders=120_000, shops=2_000, chunk_rows=25_000, file_rows=50_000)
    return out


def test_the_same_seed_gives_byte_identical_files_and_another_seed_does_not(tmp_path):
    generate(tmp_path / "a", chunk_rows=10_000)
    generate(tmp_path / "b", chunk_rows=10_000)
    generate(tmp_path / "c", chunk_rows=10_000, seed=8)

    first = digest(tmp_path / "a")
    assert first == digest(tmp_path / "b")
    assert len([name for name in first if name.startswith("orders/")]) == 1
    other = digest(tmp_path / "c")
    assert other["orders/part-00000.parquet"] != first["orders/part-00000.parquet"]


def test_orders_follow_the_interchange_format(ledger):
    orders = read(ledger / "orders")
    assert orders.column_names == ORDERS_COLUMNS
    assert orders.num_rows == 120_000
    assert orders.schema.field("amount").type == pa.decimal128(18, 2)
    assert orders.schema.field("refunded_amount").type == pa.decimal128(18, 2)
    assert orders.schema.field("paid_at").type == pa.timestamp("us", tz="UTC")
    assert set(orders["status"].unique().to_pylist()) == {"completed", "refunded", "cancelled"}
    assert set(orders["currency"].unique().to_pylist()) == {"CNY"}
    assert (
        orders.select(["platform", "order_id"])
        .group_by(["platform", "order_id"])
        .aggregate([])
        .num_rows
        == orders.num_rows
    )
    assert pc.min(orders["amount"]).as_py() >= Decimal("1.00")
    # A refund is recorded on refunded orders only, never more than the amount; partial
    # refunds exist as well as full ones.
    refunded = orders.filter(pc.equal(orders["status"], "refunded"))
    others = orders.filter(pc.not_equal(orders["status"], "refunded"))
    assert others["refunded_amount"].null_count == others.num_rows
    assert refunded["refunded_amount"].null_count == 0
    assert pc.all(pc.less_equal(refunded["refunded_amount"], refunded["amount"])).as_py()
    assert pc.any(pc.less(refunded["refunded_amount"], refunded["amount"])).as_py()
    assert pc.any(pc.equal(refunded["refunded_amount"], refunded["amount"])).as_py()
    # Several files of whole row groups: 120,000 orders in files of about 50,000.
    assert len(list((ledger / "orders").glob("part-*.parquet"))) >= 2


def test_shops_follow_the_interchange_format_and_every_order_has_an_open_shop(ledger):
    shops = read(ledger / "shops")
    orders = read(ledger / "orders")
    divisions = pq.read_table(ledger / "divisions.parquet")
    assert shops.column_names == SHOPS_COLUMNS
    assert shops.num_rows == 2_000
    assert shops.schema.field("opened_at").type == pa.timestamp("us", tz="UTC")
    assert set(shops["kind"].unique().to_pylist()) <= {"personal", "enterprise"}
    assert shops["household_id"].null_count == shops.num_rows  # unless --household-ids
    keys = shops.group_by(["platform", "shop_id"]).aggregate([])
    assert keys.num_rows == shops.num_rows
    villages = divisions.filter(pc.equal(divisions["level"], "village"))
    assert pc.all(pc.is_in(shops["village_code"], value_set=villages["code"])).as_py()

    joined = orders.join(shops, ["platform", "shop_id"], join_type="left outer")
    assert joined["opened_at"].null_count == 0  # every order's shop exists
    assert pc.all(pc.greater_equal(joined["paid_at"], joined["opened_at"])).as_py()
    closed = joined.filter(pc.is_valid(joined["closed_at"]))
    assert pc.all(pc.less(closed["paid_at"], closed["closed_at"])).as_py()
    assert pc.all(
        pc.less(
            shops["opened_at"], pc.fill_null(shops["closed_at"], datetime.max.replace(tzinfo=UTC))
        )
    ).as_py()


def test_the_divisions_file_holds_the_villages_their_ancestors_and_invented_households(ledger):
    divisions = pq.read_table(ledger / "divisions.parquet")
    assert divisions.column_names[:4] == ["code", "name", "level", "parent_code"]
    assert "households" in divisions.column_names
    codes = set(divisions["code"].to_pylist())
    parents = set(pc.drop_null(divisions["parent_code"]).to_pylist()) - {""}
    assert parents <= codes
    rows = divisions.to_pylist()
    assert all((row["households"] is not None) == (row["level"] == "village") for row in rows)
    assert all(row["households"] >= 20 for row in rows if row["level"] == "village")
    manifest = json.loads((ledger / "synth.json").read_text(encoding="utf-8"))
    assert manifest["households_invented"] == sum(row["level"] == "village" for row in rows)
    assert manifest["counts"]["orders"] == 120_000
    assert "invented" in manifest["note"]


def test_shop_sizes_are_heavy_tailed_and_villages_cluster(ledger):
    orders = read(ledger / "orders")
    per_shop = sorted(
        orders.group_by("shop_id").aggregate([("order_id", "count")])["order_id_count"].to_pylist(),
        reverse=True,
    )
    top = per_shop[: max(1, len(per_shop) // 100)]
    assert sum(top) > 0.15 * orders.num_rows  # the top 1 % of shops hold a large share
    assert per_shop[0] > 20 * per_shop[len(per_shop) // 2]

    shops = read(ledger / "shops")
    per_village = shops.group_by("village_code").aggregate([("shop_id", "count")])
    counts = sorted(per_village["shop_id_count"].to_pylist(), reverse=True)
    villages = pq.read_table(ledger / "divisions.parquet").filter(
        pc.equal(pq.read_table(ledger / "divisions.parquet")["level"], "village")
    )
    assert len(counts) < 0.6 * villages.num_rows  # many villages have no shop at all
    assert counts[0] >= 10 * (shops.num_rows / villages.num_rows)


def china_local(instants: pa.ChunkedArray) -> pa.Array:
    """UTC instants as naive China-time timestamps (UTC+8, no daylight saving)."""
    micros = pc.add(pc.cast(instants, pa.int64()), 8 * 3600 * 1_000_000)
    return pc.cast(micros, pa.timestamp("us"))


def test_november_peaks_double_11_is_the_busiest_day_and_sales_grow(ledger):
    local = china_local(read(ledger / "orders")["paid_at"])
    months = pc.month(local).value_counts().to_pylist()
    per_month = {item["values"]: item["counts"] for item in months}
    average = sum(per_month.values()) / 12
    assert per_month[11] > 1.3 * average  # November
    assert max(per_month, key=per_month.get) == 11
    assert min(per_month, key=per_month.get) == 2  # Spring Festival stops the couriers
    days = pc.strftime(local, format="%Y-%m-%d").value_counts().to_pylist()
    busiest = max(days, key=lambda item: item["counts"])["values"]
    assert busiest.endswith("-11-11")
    per_year = {
        item["values"]: item["counts"] for item in pc.year(local).value_counts().to_pylist()
    }
    assert sorted(per_year) == list(range(2014, 2023))
    assert per_year[2022] > 3 * per_year[2014]


def test_refunds_and_cancellations_are_a_few_percent(ledger):
    orders = read(ledger / "orders")
    status = orders["status"].value_counts().to_pylist()
    share = {item["values"]: item["counts"] / orders.num_rows for item in status}
    assert 0.03 <= share["refunded"] <= 0.08
    assert 0.005 <= share["cancelled"] <= 0.03
    assert len(set(orders["platform"].to_pylist())) >= 5
    platforms = orders["platform"].value_counts().to_pylist()
    assert max(platforms, key=lambda item: item["counts"])["values"] == "taobao"


def test_csv_output_is_gzipped_text_with_yuan_and_china_time(tmp_path):
    generate(tmp_path, orders=3_000, shops=100, file_format="csv")
    with gzip.open(tmp_path / "orders" / "part-00000.csv.gz", "rt", encoding="utf-8") as handle:
        text = handle.read()
    table = pacsv.read_csv(
        io.BytesIO(text.encode()),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(ORDERS_COLUMNS, pa.string())
        ),
    )
    assert table.column_names == ORDERS_COLUMNS
    assert table.num_rows == 3_000
    row = table.slice(0, 1).to_pylist()[0]
    assert row["paid_at"].endswith("+08:00")
    assert parse_instant(row["paid_at"]).year == 2014
    assert Decimal(row["amount"]).as_tuple().exponent == -2
    assert (tmp_path / "divisions.csv.gz").exists()
    assert (tmp_path / "shops" / "part-00000.csv.gz").exists()


def test_villages_by_code_prefix_and_count(tmp_path):
    by_code = generate(tmp_path / "code", orders=1_000, shops=50, villages="330782003000")
    by_prefix = generate(tmp_path / "prefix", orders=1_000, shops=50, villages="330782003*")
    by_count = generate(tmp_path / "count", orders=1_000, shops=50, villages="500")
    assert by_code.villages == by_prefix.villages > 0
    codes = pq.read_table(tmp_path / "code" / "shops" / "part-00000.parquet")["village_code"]
    assert all(code.startswith("330782003") for code in codes.to_pylist())
    assert by_count.villages == 500
    divisions = pq.read_table(tmp_path / "count" / "divisions.parquet")
    assert pc.sum(pc.equal(divisions["level"], "village")).as_py() == 500


def test_a_county_has_the_same_hot_villages_alone_or_among_others(tmp_path):
    """County and township factors are keyed by code, not by position in the selection, so
    a county generated alone has the hot spots it has in the whole table."""
    generate(tmp_path / "one", orders=0, shops=3_000, villages="330782000000")
    generate(tmp_path / "all", orders=0, shops=60_000)

    def top(folder: Path, count: int) -> list[str]:
        shops = read(folder / "shops")
        shops = shops.filter(pc.starts_with(shops["village_code"], "330782"))
        ranked = shops.group_by("village_code").aggregate([("shop_id", "count")])
        ranked = ranked.sort_by([("shop_id_count", "descending"), ("village_code", "ascending")])
        return ranked["village_code"].to_pylist()[:count]

    assert set(top(tmp_path / "one", 2)) <= set(top(tmp_path / "all", 5))
    assert read(tmp_path / "one" / "orders").num_rows == 0


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"villages": "abc"}, "villages"),
        ({"villages": "999999999999"}, "villages"),
        ({"villages": "0000*"}, "villages"),
        ({"years": (2022, 2014)}, "years"),
        ({"years": (1990, 2000)}, "years"),
        ({"file_format": "xlsx"}, "format"),
        ({"shops": 0}, "shops"),
        ({"divisions": Path("/nonexistent/divisions.csv")}, "divisions"),
        ({"product_line": "toys"}, "product_line"),
        ({"price_scale": 0}, "price_scale"),
        ({"price_scale": float("nan")}, "price_scale"),
        ({"shop_sigma": -0.5}, "shop_sigma"),
        ({"history_years": 11}, "history_years"),
    ],
)
def test_bad_arguments_are_refused_naming_the_field(tmp_path, options, field):
    with pytest.raises(ValidationError) as caught:
        generate(tmp_path, **options)
    assert caught.value.field == field
    assert not (tmp_path / "orders").exists()


def _per_shop_orders(folder: Path) -> list[int]:
    orders = read(folder / "orders")
    counts = orders.group_by("shop_id").aggregate([("order_id", "count")])
    return sorted(counts["order_id_count"].to_pylist(), reverse=True)


def _mean_amount(folder: Path) -> float:
    return pc.mean(pc.cast(read(folder / "orders")["amount"], pa.float64())).as_py()


def test_model_options_set_the_line_the_prices_the_shop_sizes_and_the_history(tmp_path):
    base = {"orders": 20_000, "shops": 400, "villages": "320324109*"}
    generate(tmp_path / "base", **base)
    generate(
        tmp_path / "tuned",
        **base,
        product_line="furniture",
        price_scale=2.5,
        shop_sigma=0.5,
        history_years=8,
    )
    manifest = json.loads((tmp_path / "tuned" / "synth.json").read_text(encoding="utf-8"))
    assert manifest["model"] == {
        "product_line": "furniture",
        "price_scale": 2.5,
        "shop_sigma": 0.5,
        "history_years": 8,
    }
    # A price scale multiplies the values; the rest of the model is unchanged.
    generate(tmp_path / "dear", **base, price_scale=2.0)
    assert 1.8 < _mean_amount(tmp_path / "dear") / _mean_amount(tmp_path / "base") < 2.2
    assert read(tmp_path / "dear" / "orders").num_rows == 20_000
    # Furniture orders are worth more than the township's drawn line's.
    generate(tmp_path / "furniture", **base, product_line="furniture")
    generate(tmp_path / "handicrafts", **base, product_line="handicrafts")
    assert _mean_amount(tmp_path / "furniture") > 4 * _mean_amount(tmp_path / "handicrafts")
    # A narrower spread of shop sizes: no shop dominates, most shops sell.
    wide, narrow = _per_shop_orders(tmp_path / "base"), _per_shop_orders(tmp_path / "tuned")
    assert sum(narrow[:4]) < 0.5 * sum(wide[:4])
    assert narrow[len(narrow) // 2] > 2 * wide[len(wide) // 2]
    # A longer history: shops opened years before the first year of orders.
    opened = read(tmp_path / "tuned" / "shops")["opened_at"].to_pylist()
    assert (
        min(o.year for o in opened)
        <= 2008
        < 2011
        <= min(o.year for o in read(tmp_path / "base" / "shops")["opened_at"].to_pylist())
    )


def test_existing_output_is_kept_unless_overwrite(tmp_path):
    generate(tmp_path, orders=500, shops=20)
    before = digest(tmp_path)
    with pytest.raises(Conflict):
        generate(tmp_path, orders=600, shops=20)
    assert digest(tmp_path) == before
    generate(tmp_path, orders=600, shops=20, overwrite=True)
    assert read(tmp_path / "orders").num_rows == 600
    assert not (tmp_path / ".synth-partial").exists()


def test_the_command_reports_counts_and_exits_2_on_errors(tmp_path):
    out = io.StringIO()
    with translation.override("en"):  # the site's language is zh-Hans
        call_command(
            SynthCommand(),
            "--out",
            str(tmp_path),
            "--orders",
            "2,000",
            "--shops",
            "40",
            "--divisions",
            str(DEMO_DIVISIONS),
            "--villages",
            "3307*",
            "--years",
            "2019-2020",
            "--seed",
            "3",
            "--household-ids",
            "--product-line",
            "furniture",
            "--price-scale",
            "1.5",
            "--shop-sigma",
            "1",
            "--history-years",
            "2",
            "--no-progress",
            stdout=out,
        )
    assert "2,000 orders of 40 shops" in out.getvalue()
    assert "invented" in out.getvalue()
    shops = read(tmp_path / "shops")
    personal = shops.filter(pc.equal(shops["kind"], "personal"))
    assert all(
        household.startswith(code) and len(household) == 17
        for household, code in zip(
            personal["household_id"].to_pylist(), personal["village_code"].to_pylist(), strict=True
        )
    )
    years = {
        instant.astimezone(CHINA_TZ).year
        for instant in read(tmp_path / "orders")["paid_at"].to_pylist()
    }
    assert years == {2019, 2020}
    manifest = json.loads((tmp_path / "synth.json").read_text(encoding="utf-8"))
    assert manifest["model"] == {
        "product_line": "furniture",
        "price_scale": 1.5,
        "shop_sigma": 1.0,
        "history_years": 2.0,
    }

    with pytest.raises(CommandError) as caught:
        call_command(
            SynthCommand(),
            "--out",
            str(tmp_path),
            "--no-progress",
            "--divisions",
            str(DEMO_DIVISIONS),
        )
    assert caught.value.returncode == 2
    assert "--overwrite" in str(caught.value)


@pytest.mark.django_db
def test_the_files_import_into_the_platform_database(tmp_path):
    """The sales import takes the generated files as they are, and the CSV form carries the
    same values as the Parquet form: importing it after the Parquet changes nothing."""
    if "sales" not in get_commands():
        pytest.skip("the sales import is not installed")
    generate(tmp_path / "pq", orders=3_000, shops=60, villages="330782003000")
    generate(tmp_path / "csv", orders=3_000, shops=60, villages="330782003000", file_format="csv")

    def run(*args: str) -> str:
        out = io.StringIO()
        call_command(*args, "--no-progress", stdout=out)
        return out.getvalue()

    run("regions", "import", str(tmp_path / "pq" / "divisions.parquet"))
    run("sales", "import", "shops", str(tmp_path / "pq" / "shops" / "part-00000.parquet"))
    run("sales", "import", "orders", str(tmp_path / "pq" / "orders" / "part-00000.parquet"))

    from taocun.sales.models import SalesOrder, Shop

    orders = read(tmp_path / "pq" / "orders")
    expected_fen = sum(int(amount * 100) for amount in orders["amount"].to_pylist())
    refunded_fen = sum(
        int(amount * 100) for amount in pc.drop_null(orders["refunded_amount"]).to_pylist()
    )
    assert Shop.objects.count() == 60
    assert SalesOrder.objects.count() == 3_000
    assert sum(SalesOrder.objects.values_list("amount_fen", flat=True)) == expected_fen
    assert sum(SalesOrder.objects.values_list("refunded_fen", flat=True)) == refunded_fen
    before = sorted(
        SalesOrder.objects.values_list(
            "order_id", "amount_fen", "refunded_fen", "paid_at", "status"
        )
    )

    run("sales", "import", "shops", str(tmp_path / "csv" / "shops" / "part-00000.csv.gz"))
    run("sales", "import", "orders", str(tmp_path / "csv" / "orders" / "part-00000.csv.gz"))
    after = sorted(
        SalesOrder.objects.values_list(
            "order_id", "amount_fen", "refunded_fen", "paid_at", "status"
        )
    )
    assert after == before


def test_the_default_divisions_are_the_national_table_when_it_is_there(tmp_path):
    summary = synth_generate(out=tmp_path, orders=500, shops=20, villages="330782003000")
    manifest = json.loads((tmp_path / "synth.json").read_text(encoding="utf-8"))
    assert manifest["divisions_source"] == default_divisions_path().name
    assert summary.villages > 0
    codes = pq.read_table(tmp_path / "shops" / "part-00000.parquet")["village_code"].to_pylist()
    assert all(code.startswith("330782003") for code in codes)

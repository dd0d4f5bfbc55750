"""The orders import through its service, on the real database (SQLite or PostgreSQL)."""

import gzip
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taocun.core.models import AuditEntry
from taocun.sales.importing import orders_import, rates_import, shops_import
from taocun.sales.models import SalesOrder
from taocun.sales.tests.conftest import LIZU, ORDERS_HEADER, QIANCANG, SHOPS_HEADER, where

GOOD = ORDERS_HEADER + (
    "taobao,1001,tb-1,12.5,2016-01-01 10:00,completed,,\n"
    "taobao,1002,tb-1,100,2016-01-02T10:00:00+08:00,refunded,,\n"
    'taobao,1003,tb-2,"1,000.00",2016-01-03T10:00:00Z,refunded,CNY,10\n'
    "tmall,1001,tm-1,5.05,2016-12-31 23:59:59,cancelled,,\n"
    "taobao,1004,tb-2,0,2016-02-01,completed,,0\n"
)


@pytest.fixture
def shops(tree, write):
    shops_import(
        path=write(
            SHOPS_HEADER
            + f"taobao,tb-1,{QIANCANG},2015-01-01,,,\n"
            + f"taobao,tb-2,{LIZU},2015-01-01,,,\n"
            + f"tmall,tm-1,{QIANCANG},2015-01-01,,,\n"
        )
    )


def orders() -> list[tuple]:
    return list(
        SalesOrder.objects.order_by("platform", "order_id").values_list(
            "platform",
            "order_id",
            "shop__shop_id",
            "amount_fen",
            "currency",
            "refunded_fen",
            "amount_cny_fen",
            "refunded_cny_fen",
            "paid_at",
            "status",
        )
    )


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


EXPECTED = [
    ("taobao", "1001", "tb-1", 1250, "CNY", 0, 1250, 0, utc(2016, 1, 1, 2), "completed"),
    # refunded with no refunded_amount: a full refund
    ("taobao", "1002", "tb-1", 10000, "CNY", 10000, 10000, 10000, utc(2016, 1, 2, 2), "refunded"),
    ("taobao", "1003", "tb-2", 100000, "CNY", 1000, 100000, 1000, utc(2016, 1, 3, 10), "refunded"),
    ("taobao", "1004", "tb-2", 0, "CNY", 0, 0, 0, utc(2016, 1, 31, 16), "completed"),
    ("tmall", "1001", "tm-1", 505, "CNY", 0, 505, 0, utc(2016, 12, 31, 15, 59, 59), "cancelled"),
]


def test_a_good_file_is_imported(shops, write):
    summary = orders_import(path=write(GOOD, "orders.csv"))

    assert (summary.rows, summary.inserted, summary.updated, summary.unchanged) == (5, 5, 0, 0)
    assert orders() == EXPECTED
    entry = AuditEntry.objects.get(action="sales.orders_import")
    assert entry.object_id == "orders.csv"
    assert (entry.after["rows"], entry.after["inserted"]) == (5, 5)


def test_importing_the_same_file_twice_changes_nothing(shops, write):
    path = write(GOOD)
    orders_import(path=path)
    before = list(SalesOrder.objects.order_by("pk").values_list())

    again = orders_import(path=path)

    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 5)
    assert list(SalesOrder.objects.order_by("pk").values_list()) == before


def test_a_changed_row_updates_and_the_rest_is_left_alone(shops, write):
    orders_import(path=write(GOOD))
    changed = GOOD.replace(
        "taobao,1001,tb-1,12.5,2016-01-01 10:00,completed,,",
        "taobao,1001,tb-2,12.5,2016-01-01 10:00,refunded,,2.5",
    )

    summary = orders_import(path=write(changed))

    assert (summary.inserted, summary.updated, summary.unchanged) == (0, 1, 4)
    first = (*EXPECTED[0][:2], "tb-2", 1250, "CNY", 250, 1250, 250, *EXPECTED[0][8:9])
    assert orders() == [(*first, "refunded"), *EXPECTED[1:]]


def test_a_file_without_the_optional_columns(shops, write):
    summary = orders_import(
        path=write(
            "platform,order_id,shop_id,amount,paid_at,status\n"
            "taobao,1,tb-1,9.99,2016-05-01 12:00,refunded\n"
        )
    )
    assert summary.inserted == 1
    assert orders()[0][3:8] == (999, "CNY", 999, 999, 999)


def test_gzip_and_any_column_order(shops, write):
    content = (
        "status,paid_at,amount,shop_id,order_id,platform\ncompleted,2016-03-01,7,tb-1,9,taobao\n"
    )
    summary = orders_import(path=write(gzip.compress(content.encode()), "orders.csv"))
    assert summary.inserted == 1
    assert orders()[0][3] == 700


def test_parquet_with_decimals_and_timestamps(shops, tmp_path):
    path = tmp_path / "orders.parquet"
    table = pa.table(
        {
            "platform": ["taobao", "taobao", "taobao"],
            "order_id": ["p1", "p2", "p3"],
            "shop_id": ["tb-1", "tb-1", "tb-2"],
            "amount": pa.array(
                [Decimal("12.30"), Decimal("0.05"), Decimal("100.00")], type=pa.decimal128(18, 2)
            ),
            "paid_at": pa.array(
                [datetime(2016, 1, 1, 10), datetime(2016, 6, 1), None], type=pa.timestamp("us")
            ),
            "status": ["completed", "refunded", "completed"],
            "refunded_amount": pa.array([None, Decimal("0.05"), None], type=pa.decimal128(18, 2)),
        }
    )
    pq.write_table(table, path)

    with pytest.raises(Exception) as info:
        orders_import(path=path)
    assert where(info.value) == [(4, "paid_at")]  # rows are numbered like CSV lines

    pq.write_table(table.slice(0, 2), path)
    assert orders_import(path=path).inserted == 2
    assert [row[3:6] + row[8:9] for row in orders()] == [
        (1230, "CNY", 0, utc(2016, 1, 1, 2)),  # a naive timestamp is China time
        (5, "CNY", 5, utc(2016, 5, 31, 16)),
    ]


def test_parquet_with_text_columns_and_utc_timestamps(shops, tmp_path):
    path = tmp_path / "orders.parquet"
    pq.write_table(
        pa.table(
            {
                "platform": ["taobao"],
                "order_id": ["t1"],
                "shop_id": ["tb-1"],
                "amount": ["88.8"],
                "paid_at": pa.array([datetime(2016, 1, 1, 10)], type=pa.timestamp("ms", tz="UTC")),
                "status": ["completed"],
            }
        ),
        path,
    )
    orders_import(path=path)
    assert orders()[0][3:4] + orders()[0][8:9] == (8880, utc(2016, 1, 1, 10))


def test_currency_conversion(shops, write):
    rates_import(
        path=write(
            "currency,valid_from,cny_per_unit\n"
            "USD,2016-01-01,6.5\n"
            "USD,2016-02-01,6.6\n"
            "JPY,2016-01-01,0.0545\n"
        )
    )
    shops_import(path=write(SHOPS_HEADER + f"aliexpress,tb-1,{QIANCANG},2015-01-01,,,\n"))

    orders_import(
        path=write(
            ORDERS_HEADER
            # 2016-01-31T17:00Z is 1 February in China: February's rate.
            + "aliexpress,u1,tb-1,19.99,2016-01-31T17:00:00Z,completed,USD,\n"
            + "aliexpress,u2,tb-1,19.99,2016-01-31T15:00:00Z,refunded,usd,5\n"
            + "aliexpress,j1,tb-1,10000,2016-03-01,completed,JPY,\n"
            # Half to even: 5 × 6.5 = 32.5 → 32 fen; 15 × 6.5 = 97.5 → 98 fen.
            + "aliexpress,h1,tb-1,0.05,2016-01-10,completed,USD,\n"
            + "aliexpress,h2,tb-1,0.15,2016-01-10,completed,USD,\n"
        )
    )

    converted = {row[1]: row[3:8] for row in orders()}
    assert converted == {
        "u1": (1999, "USD", 0, 13193, 0),  # 1999 × 6.6 = 13193.4
        "u2": (1999, "USD", 500, 12994, 3250),  # 1999 × 6.5 = 12993.5 → even 12994
        "j1": (1000000, "JPY", 0, 54500, 0),
        "h1": (5, "USD", 0, 32, 0),
        "h2": (15, "USD", 0, 98, 0),
    }


# --- bad rows: each leaves the ledger unchanged and names line and field ------------------


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        pytest.param(
            "taobao,9,nope,1,2016-01-01,completed,,", "shop_id", "unknown shop", id="unknown shop"
        ),
        pytest.param(
            "tmall,9,tb-1,1,2016-01-01,completed,,",
            "shop_id",
            "unknown shop",
            id="shop of another platform",
        ),
        pytest.param(
            "taobao,9,tb-1,abc,2016-01-01,completed,,", "amount", "not an amount", id="bad amount"
        ),
        pytest.param(
            "taobao,9,tb-1,12.5.1,2016-01-01,completed,,",
            "amount",
            "not an amount",
            id="two points",
        ),
        pytest.param(
            "taobao,9,tb-1,-5,2016-01-01,completed,,", "amount", "negative", id="negative amount"
        ),
        pytest.param(
            "taobao,9,tb-1,1.234,2016-01-01,completed,,",
            "amount",
            "more than 2 decimals",
            id="three decimals",
        ),
        pytest.param("taobao,9,tb-1,,2016-01-01,completed,,", "amount", "required", id="no amount"),
        pytest.param(
            "taobao,9,tb-1,1e3,2016-01-01,completed,,", "amount", "not an amount", id="exponent"
        ),
        pytest.param(
            "taobao,9,tb-1,1,2016-13-01,completed,,", "paid_at", "ISO 8601", id="month 13"
        ),
        pytest.param(
            "taobao,9,tb-1,1,yesterday,completed,,", "paid_at", "ISO 8601", id="words for a time"
        ),
        pytest.param(
            "taobao,9,tb-1,1,2016-01-01T25:00,completed,,", "paid_at", "ISO 8601", id="hour 25"
        ),
        pytest.param(
            "taobao,9,tb-1,1,2200-01-01,completed,,",
            "paid_at",
            "outside the years",
            id="far future",
        ),
        pytest.param(
            "taobao,9,tb-1,1,2016-01-01,paid,,", "status", "unknown status", id="unknown status"
        ),
        pytest.param(
            "taobao,9,tb-1,1,2016-01-01,Completed,,", "status", "unknown status", id="status case"
        ),
        pytest.param(
            "taobao,9,tb-1,1,2016-01-01,refunded,,2",
            "refunded_amount",
            "more than the amount",
            id="refund above amount",
        ),
        pytest.param(
            "taobao,9,tb-1,1,2016-01-01,refunded,,0",
            "refunded_amount",
            "nothing refunded",
            id="refunded nothing",
        ),
        pytest.param(
            "taobao,9,tb-1,1,2016-01-01,refunded,,-1",
            "refunded_amount",
            "negative",
            id="negative refund",
        ),
        pytest.param(
            "taobao,9,tb-1,1,2016-01-01,completed,USD,",
            "currency",
            "no USD rate on or before 2016-01-01",
            id="currency without a rate",
        ),
        pytest.param(
            "taobao,9,tb-1,1,2016-01-01,completed,US$,", "currency", "ISO 4217", id="bad currency"
        ),
        pytest.param(
            "Taobao,9,tb-1,1,2016-01-01,completed,,",
            "platform",
            "platform",
            id="platform not a slug",
        ),
        pytest.param(
            "taobao,,tb-1,1,2016-01-01,completed,,", "order_id", "required", id="no order id"
        ),
        pytest.param(
            "taobao,9,tb-1,1,2016-01-01,completed", "row", "expected 8 fields", id="short row"
        ),
        pytest.param(
            "taobao,1,tb-1,1,2016-01-01,completed,,",
            "order_id",
            "duplicate order: also on line 2",
            id="duplicate key",
        ),
    ],
)
def test_a_bad_row_changes_nothing_and_says_where(shops, write, rejected, row, field, reason):
    orders_import(path=write(ORDERS_HEADER + "taobao,existing,tb-1,1,2015-06-01,completed,,\n"))

    # A good row first, on line 2: it is not imported either.
    error = rejected(
        orders_import,
        write(ORDERS_HEADER + "taobao,1,tb-1,1,2016-01-01,completed,,\n" + row + "\n"),
    )

    assert where(error) == [(3, field)]
    assert reason in error.errors[0].reason, error.errors[0].reason


def test_a_rate_that_starts_after_the_payment_does_not_count(shops, write, rejected):
    rates_import(path=write("currency,valid_from,cny_per_unit\nUSD,2016-02-01,6.6\n"))
    # 2016-01-31T15:00Z is still 31 January in China.
    error = rejected(
        orders_import,
        write(ORDERS_HEADER + "taobao,9,tb-1,1,2016-01-31T15:00:00Z,completed,USD,\n"),
    )
    assert where(error) == [(2, "currency")]
    assert "on or before 2016-01-31" in error.errors[0].reason


def test_every_bad_row_is_listed_at_once(shops, write, rejected):
    error = rejected(
        orders_import,
        write(
            ORDERS_HEADER
            + "taobao,1,tb-9,1,2016-01-01,completed,,\n"
            + "taobao,2,tb-1,1.001,yesterday,done,,\n"
            + "taobao,1,tb-1,1,2016-01-01,completed,,\n"
        ),
    )
    assert where(error) == [
        (2, "shop_id"),
        (3, "amount"),
        (3, "paid_at"),
        (3, "status"),
        (4, "order_id"),
    ]


def test_unknown_shops_in_a_file_that_is_otherwise_clean(shops, write, rejected):
    error = rejected(
        orders_import,
        write(
            ORDERS_HEADER
            + "taobao,1,tb-1,1,2016-01-01,completed,,\n"
            + "taobao,2,tb-9,1,2016-01-01,completed,,\n"
            + "taobao,3,tb-8,1,2016-01-01,completed,,\n"
        ),
    )
    assert where(error) == [(3, "shop_id"), (4, "shop_id")]
    assert error.errors[0].value == "tb-9"


def test_an_unknown_shop_is_found_even_when_the_order_exists(shops, write, rejected):
    orders_import(path=write(ORDERS_HEADER + "taobao,1,tb-1,1,2016-01-01,completed,,\n"))
    error = rejected(
        orders_import, write(ORDERS_HEADER + "taobao,1,tb-9,1,2016-01-01,completed,,\n")
    )
    assert where(error) == [(2, "shop_id")]


def test_a_gbk_file_is_reported_line_by_line(shops, write, rejected):
    content = (
        ORDERS_HEADER
        + "taobao,1,tb-1,1,2016-01-01,completed,,\ntaobao,2,淘宝店,1,2016-01-01,completed,,\n"
    )
    error = rejected(orders_import, write(content.encode("gbk")))
    assert where(error) == [(3, "shop_id")]
    assert "GBK" in error.errors[0].reason


def test_errors_stop_at_the_limit(shops, write, rejected):
    rows = "".join(f"taobao,{n},tb-1,-1,2016-01-01,completed,,\n" for n in range(10))
    error = rejected(orders_import, write(ORDERS_HEADER + rows), max_errors=3)
    assert error.truncated
    assert [line for line, _ in where(error)] == [2, 3, 4]


def test_a_dry_run_writes_nothing(shops, write):
    summary = orders_import(path=write(GOOD), dry_run=True)
    assert (summary.inserted, summary.dry_run) == (5, True)
    assert not SalesOrder.objects.exists()


def test_an_empty_file_and_a_missing_column(shops, write, rejected):
    assert where(rejected(orders_import, write(ORDERS_HEADER))) == [(1, "file")]
    error = rejected(orders_import, write("platform,order_id,shop_id,amount,status\n"))
    assert where(error) == [(1, "paid_at")]


# --- the fast form and the full checks agree ---------------------------------------------

amounts = st.decimals(min_value=0, max_value=10**9, places=2).map(str)
times = st.datetimes(min_value=datetime(1990, 1, 2), max_value=datetime(2099, 12, 30))
offsets = st.sampled_from(["", "Z", "+08:00", "-05:30"])


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    amount=amounts,
    paid=times,
    offset=offsets,
    status=st.sampled_from(["completed", "refunded", "cancelled"]),
)
def test_plain_and_padded_rows_give_the_same_order(shops, write, amount, paid, offset, status):
    """A padded row (spaces around values) takes the full checks, a plain one the fast form;
    both must store the same order."""
    SalesOrder.objects.all().delete()
    text = paid.isoformat(sep=" ") + offset
    plain = f"taobao,plain,tb-1,{amount},{text},{status},,\n"
    padded = f"taobao,padded,tb-1, {amount} , {text} , {status} ,CNY, \n"
    orders_import(path=write(ORDERS_HEADER + plain + padded))
    first, second = orders()
    assert first[2:] == second[2:]


def indexes() -> list[str]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "sales_salesorder")
    return sorted(name for name, info in constraints.items() if info["index"])


def test_every_index_is_there_after_an_import_and_after_a_rejection(shops, write, rejected):
    """On SQLite a file larger than the table has its plain indexes rebuilt after the
    upsert; they must come back, whether the file is imported or rejected."""
    expected = indexes()
    assert any("paid_at" in name for name in expected)

    orders_import(path=write(GOOD))
    assert indexes() == expected
    # Unknown shops in an otherwise clean file are found by the upsert itself.
    rejected(
        orders_import,
        write(
            ORDERS_HEADER
            + "".join(f"taobao,x{n},nope,1,2016-01-01,completed,,\n" for n in range(9))
        ),
    )
    assert indexes() == expected

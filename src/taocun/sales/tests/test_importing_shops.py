"""The shops import through its service, on the real database (SQLite or PostgreSQL)."""

from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from taocun.core.models import AuditEntry
from taocun.regions.models import Level
from taocun.regions.tests.factories import DivisionFactory, HouseholdFactory
from taocun.sales.importing import shops_import
from taocun.sales.models import Shop, ShopMove
from taocun.sales.tests.conftest import DINGLOU, LIZU, QIANCANG, SHOPS_HEADER, where

GOOD = SHOPS_HEADER + (
    f"taobao,tb-1,{QIANCANG},2015-03-01,personal,,\n"
    f"tmall,tm-1,{LIZU},2015-03-01T08:00:00+08:00,enterprise,,2017-01-01 00:00\n"
    f"1688,tb-1,{DINGLOU},2014-12-31 23:30,,,\n"
)


def test_a_good_file_is_imported(tree, write):
    summary = shops_import(path=write(GOOD, "shops.csv"))

    assert (summary.rows, summary.inserted, summary.updated, summary.unchanged) == (3, 3, 0, 0)
    taobao = Shop.objects.get(platform="taobao", shop_id="tb-1")
    assert taobao.village_id == QIANCANG
    assert taobao.opened_at == datetime(2015, 2, 28, 16, 0, tzinfo=UTC)  # China midnight
    assert (taobao.kind, taobao.closed_at, taobao.household_id) == ("personal", None, None)
    tmall = Shop.objects.get(platform="tmall")
    assert tmall.kind == "enterprise"
    assert tmall.opened_at == datetime(2015, 3, 1, 0, 0, tzinfo=UTC)
    assert tmall.closed_at == datetime(2016, 12, 31, 16, 0, tzinfo=UTC)
    # The same shop id on another platform is another shop; an empty kind is personal.
    assert Shop.objects.get(platform="1688", shop_id="tb-1").kind == "personal"
    entry = AuditEntry.objects.get(action="sales.shops_import")
    assert entry.object_id == "shops.csv"
    assert (entry.after["rows"], entry.after["inserted"], entry.after["moved"]) == (3, 3, 0)


def test_importing_the_same_file_twice_changes_nothing(tree, write):
    path = write(GOOD)
    shops_import(path=path)
    before = list(Shop.objects.order_by("pk").values_list())

    again = shops_import(path=path)

    assert (again.inserted, again.updated, again.unchanged, again.moved) == (0, 0, 3, 0)
    assert list(Shop.objects.order_by("pk").values_list()) == before


def test_a_changed_row_updates_and_a_village_change_is_a_move(tree, write):
    shops_import(path=write(GOOD))
    moved = GOOD.replace(
        f"taobao,tb-1,{QIANCANG},2015-03-01,personal", f"taobao,tb-1,{LIZU},2015-03-01,enterprise"
    )

    summary = shops_import(path=write(moved, "shops-2017.csv"))

    assert (summary.inserted, summary.updated, summary.unchanged, summary.moved) == (0, 1, 2, 1)
    shop = Shop.objects.get(platform="taobao", shop_id="tb-1")
    assert (shop.village_id, shop.kind) == (LIZU, "enterprise")
    move = ShopMove.objects.get()
    assert (move.shop_id, move.from_village_id, move.to_village_id) == (shop.pk, QIANCANG, LIZU)
    assert move.source == "shops-2017.csv"
    # Importing the moved file again records no second move.
    assert shops_import(path=write(moved)).moved == 0
    assert ShopMove.objects.count() == 1


def test_optional_columns_missing_from_the_file_are_left_alone(tree, write):
    household = HouseholdFactory(village=tree.qianchang)
    shops_import(
        path=write(
            SHOPS_HEADER
            + f"taobao,tb-1,{QIANCANG},2015-03-01,enterprise,{household.pk},2018-01-01\n"
        )
    )

    summary = shops_import(
        path=write(f"platform,shop_id,village_code,opened_at\ntaobao,tb-1,{QIANCANG},2015-04-01\n")
    )

    assert summary.updated == 1
    shop = Shop.objects.get()
    assert (shop.kind, shop.household_id) == ("enterprise", household.pk)
    assert shop.closed_at == datetime(2017, 12, 31, 16, 0, tzinfo=UTC)
    assert shop.opened_at == datetime(2015, 3, 31, 16, 0, tzinfo=UTC)


def test_a_household_of_the_village_is_linked(tree, write):
    household = HouseholdFactory(village=tree.lizu)
    shops_import(path=write(SHOPS_HEADER + f"taobao,h-1,{LIZU},2015-03-01,,{household.pk},\n"))
    assert Shop.objects.get().household_id == household.pk


def test_columns_may_come_in_any_order_and_values_are_trimmed(tree, write):
    shops_import(
        path=write(
            f"opened_at,shop_id,platform,village_code\n 2015-03-01 , a shop ,taobao, {QIANCANG}\n"
        )
    )
    shop = Shop.objects.get()
    assert (shop.platform, shop.shop_id, shop.village_id) == ("taobao", "a shop", QIANCANG)


def test_a_dry_run_counts_but_writes_nothing(tree, write):
    summary = shops_import(path=write(GOOD), dry_run=True)
    assert (summary.inserted, summary.dry_run) == (3, True)
    assert not Shop.objects.exists()
    assert not AuditEntry.objects.exists()


def test_parquet_with_timestamps(tree, tmp_path):
    path = tmp_path / "shops.parquet"
    table = pa.table(
        {
            "platform": ["taobao", "taobao"],
            "shop_id": ["p-1", "p-2"],
            "village_code": [QIANCANG, LIZU],
            # One naive column (China time) would be read as such; this one is UTC.
            "opened_at": pa.array(
                [datetime(2015, 3, 1, 4, 0), datetime(2015, 3, 2, 4, 0)],
                type=pa.timestamp("us", tz="UTC"),
            ),
            "closed_at": pa.array([None, datetime(2016, 1, 1)], type=pa.timestamp("s")),
        }
    )
    pq.write_table(table, path)

    summary = shops_import(path=path)

    assert summary.inserted == 2
    assert Shop.objects.get(shop_id="p-1").opened_at == datetime(2015, 3, 1, 4, 0, tzinfo=UTC)
    # A naive timestamp is China time.
    assert Shop.objects.get(shop_id="p-2").closed_at == datetime(2015, 12, 31, 16, 0, tzinfo=UTC)


# --- bad rows: each leaves the ledger unchanged and names line and field ------------------


@pytest.mark.parametrize(
    ("rows", "expected", "reason"),
    [
        pytest.param(
            "taobao,s1,330782003299,2015-03-01,,,\n",
            [(2, "village_code")],
            "unknown village code",
            id="unknown village",
        ),
        pytest.param(
            "taobao,s1,330782003000,2015-03-01,,,\n",
            [(2, "village_code")],
            "not a village-level code",
            id="township code",
        ),
        pytest.param(
            "taobao,s1,33078200321,2015-03-01,,,\n",
            [(2, "village_code")],
            "12-digit",
            id="short code",
        ),
        pytest.param(
            f"taobao,s1,{QIANCANG},2015-03-01,,,2015-02-01\n",
            [(2, "closed_at")],
            "before opened_at",
            id="closed before opened",
        ),
        pytest.param(
            f"taobao,s1,{QIANCANG},2015-02-30,,,\n",
            [(2, "opened_at")],
            "ISO 8601",
            id="impossible date",
        ),
        pytest.param(
            f"taobao,s1,{QIANCANG},,,,\n", [(2, "opened_at")], "required", id="no opening time"
        ),
        pytest.param(
            f"taobao,s1,{QIANCANG},1985-01-01,,,\n",
            [(2, "opened_at")],
            "outside the years",
            id="before the ledger's years",
        ),
        pytest.param(
            f"taobao,s1,{QIANCANG},2015-03-01,company,,\n",
            [(2, "kind")],
            "personal, enterprise",
            id="unknown kind",
        ),
        pytest.param(
            f"taobao,s1,{QIANCANG},2015-03-01,,999999,\n",
            [(2, "household_id")],
            "unknown household",
            id="unknown household",
        ),
        pytest.param(
            f"taobao,s1,{QIANCANG},2015-03-01,,x1,\n",
            [(2, "household_id")],
            "household number",
            id="household not a number",
        ),
        pytest.param(
            f"Taobao,s1,{QIANCANG},2015-03-01,,,\n",
            [(2, "platform")],
            "platform",
            id="platform not a slug",
        ),
        pytest.param(
            f"taobao,,{QIANCANG},2015-03-01,,,\n", [(2, "shop_id")], "required", id="no shop id"
        ),
        pytest.param(
            f"taobao,{'x' * 65},{QIANCANG},2015-03-01,,,\n",
            [(2, "shop_id")],
            "longer than 64",
            id="shop id too long",
        ),
        pytest.param(
            f"taobao,s1,{QIANCANG},2015-03-01,,,\ntaobao,s1,{LIZU},2015-03-01,,,\n",
            [(3, "shop_id")],
            "duplicate shop: also on line 3",  # the good row is line 2
            id="duplicate key",
        ),
        pytest.param(
            f"taobao,s1,{QIANCANG},2015-03-01\n", [(2, "row")], "expected 7 fields", id="short row"
        ),
    ],
)
def test_a_bad_row_changes_nothing_and_says_where(tree, write, rejected, rows, expected, reason):
    shops_import(path=write(SHOPS_HEADER + f"taobao,existing,{QIANCANG},2015-01-01,,,\n"))

    # A good row first: it is not imported either.
    error = rejected(
        shops_import, write(SHOPS_HEADER + f"taobao,fine,{LIZU},2015-01-01,,,\n" + rows)
    )

    shifted = [(line + 1, field) for line, field in expected]
    assert where(error) == shifted
    assert reason in error.errors[0].reason, error.errors[0].reason


def test_a_household_of_another_village_is_refused(tree, write, rejected):
    household = HouseholdFactory(village=tree.lizu)
    error = rejected(
        shops_import, write(SHOPS_HEADER + f"taobao,s1,{QIANCANG},2015-03-01,,{household.pk},\n")
    )
    assert where(error) == [(2, "household_id")]
    assert f"belongs to village {LIZU}" in error.errors[0].reason


def test_a_village_shaped_code_that_is_no_village_in_the_table(db, write, rejected):
    # 三岔口镇: the NBS table's one township with a village-shaped code.
    DivisionFactory(code="653130103001", name="三岔口镇", level=Level.TOWNSHIP)
    error = rejected(shops_import, write(SHOPS_HEADER + "taobao,s1,653130103001,2015-03-01,,,\n"))
    assert where(error) == [(2, "village_code")]
    assert "it is a township" in error.errors[0].reason


def test_a_new_opening_after_the_stored_closing_is_refused(tree, write, rejected):
    shops_import(path=write(SHOPS_HEADER + f"taobao,s1,{QIANCANG},2015-03-01,,,2016-01-01\n"))
    error = rejected(
        shops_import,
        write(f"platform,shop_id,village_code,opened_at\ntaobao,s1,{QIANCANG},2016-02-01\n"),
    )
    assert where(error) == [(2, "opened_at")]


def test_every_bad_row_is_listed_at_once(tree, write, rejected):
    error = rejected(
        shops_import,
        write(
            SHOPS_HEADER
            + "taobao,s1,330782003299,2015-03-01,,,\n"
            + f"taobao,s2,{QIANCANG},yesterday,,,\n"
            + f"taobao,s1,{QIANCANG},2015-03-01,,,\n"
        ),
    )
    assert where(error) == [(2, "village_code"), (3, "opened_at"), (4, "shop_id")]


def test_a_header_problem_is_reported_on_line_1(tree, write, rejected):
    error = rejected(shops_import, write("platform,shop_id,village,opened_at\n"))
    assert where(error) == [(1, "village"), (1, "village_code")]

"""The currency rates import, and what it does to the orders it governs."""

from datetime import date
from decimal import Decimal

import pytest

from taocun.core.models import AuditEntry
from taocun.sales.importing import orders_import, rates_import, shops_import
from taocun.sales.models import CurrencyRate, SalesOrder
from taocun.sales.tests.conftest import ORDERS_HEADER, QIANCANG, SHOPS_HEADER, where

HEADER = "currency,valid_from,cny_per_unit\n"
GOOD = HEADER + "USD,2016-01-01,6.5\nUSD,2016-02-01,6.61234567\neur,2016-01-01,7.1\n"


def rates() -> list[tuple]:
    return list(
        CurrencyRate.objects.order_by("currency", "valid_from").values_list(
            "currency", "valid_from", "cny_per_unit"
        )
    )


def test_a_good_file_is_imported(db, write):
    summary = rates_import(path=write(GOOD, "rates.csv"))

    assert (summary.rows, summary.inserted, summary.reconverted) == (3, 3, 0)
    assert rates() == [
        ("EUR", date(2016, 1, 1), Decimal("7.1")),
        ("USD", date(2016, 1, 1), Decimal("6.5")),
        ("USD", date(2016, 2, 1), Decimal("6.61234567")),
    ]
    assert AuditEntry.objects.get(action="sales.rates_import").after["inserted"] == 3


def test_twice_changes_nothing_and_a_changed_rate_updates(db, write):
    rates_import(path=write(GOOD))
    again = rates_import(path=write(GOOD))
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)

    changed = rates_import(path=write(GOOD.replace("7.1", "7.2")))

    assert (changed.inserted, changed.updated, changed.unchanged) == (0, 1, 2)
    assert rates()[0][2] == Decimal("7.2")


def test_a_changed_rate_reconverts_the_orders_it_governs(tree, write):
    rates_import(path=write(GOOD))
    shops_import(path=write(SHOPS_HEADER + f"aliexpress,ae-1,{QIANCANG},2015-01-01,,,\n"))
    orders_import(
        path=write(
            ORDERS_HEADER
            + "aliexpress,1,ae-1,10,2016-01-15,completed,USD,\n"
            + "aliexpress,2,ae-1,10,2016-02-15,refunded,USD,\n"
            + "aliexpress,3,ae-1,10,2016-01-15,completed,EUR,\n"
            + "aliexpress,4,ae-1,10,2016-01-15,completed,,\n"
        )
    )

    summary = rates_import(path=write(HEADER + "USD,2016-02-01,7\n"))

    assert (summary.updated, summary.reconverted) == (1, 1)
    converted = dict(
        SalesOrder.objects.values_list("order_id", "amount_cny_fen").order_by("order_id")
    )
    assert converted == {"1": 6500, "2": 7000, "3": 7100, "4": 1000}
    assert SalesOrder.objects.get(order_id="2").refunded_cny_fen == 7000


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        pytest.param("CNY,2016-01-01,1", "currency", "needs no rate", id="CNY"),
        pytest.param("US,2016-01-01,1", "currency", "ISO 4217", id="two letters"),
        pytest.param(",2016-01-01,1", "currency", "required", id="no currency"),
        pytest.param("USD,2016-01-32,1", "valid_from", "ISO 8601 date", id="bad date"),
        pytest.param("USD,1900-01-01,1", "valid_from", "outside the years", id="old date"),
        pytest.param("USD,2016-01-01,0", "cny_per_unit", "above 0", id="zero"),
        pytest.param("USD,2016-01-01,-6.5", "cny_per_unit", "above 0", id="negative"),
        pytest.param("USD,2016-01-01,6.123456789", "cny_per_unit", "8 decimals", id="9 decimals"),
        pytest.param("USD,2016-01-01,12345678901", "cny_per_unit", "too large", id="too large"),
        pytest.param("USD,2016-01-01,six", "cny_per_unit", "decimal number", id="words"),
        pytest.param("USD,2016-01-01,NaN", "cny_per_unit", "decimal number", id="NaN"),
        pytest.param("usd,2015-01-01,6", "valid_from", "duplicate rate", id="duplicate"),
    ],
)
def test_a_bad_row_changes_nothing_and_says_where(db, write, rejected, row, field, reason):
    error = rejected(rates_import, write(HEADER + "USD,2015-01-01,6.5\n" + row + "\n"))
    assert where(error) == [(3, field)]
    assert reason in error.errors[0].reason, error.errors[0].reason

"""The currency rates import: ``currency,valid_from,cny_per_unit``.

Upsert by ``(currency, valid_from)``. A rate applies from its China date until the next
rate of the same currency. When a file adds or changes rates, the orders they govern (that
currency, paid on or after the earliest changed date) get their CNY values recomputed in
the same transaction, so the ledger never mixes old and new rates.
"""

from datetime import date

from django.db import connection
from django.utils.translation import gettext as _

from taocun.core.chinatime import china_date, china_day_start
from taocun.core.errors import RowError
from taocun.core.tabular import NOT_UTF8, is_postgresql
from taocun.sales.currency import BASE_CURRENCY, RateBook, to_cny_fen
from taocun.sales.importing.pipeline import StagedImport, UpsertCounts
from taocun.sales.models import SalesOrder
from taocun.sales.validation import (
    BadValue,
    currency_from_text,
    date_from_text,
    rate_from_text,
)

RECONVERT_BATCH_ROWS = 5_000


class RatesImport(StagedImport):
    kind = "rates"
    audit_action = "sales.rates_import"
    audit_object_type = "sales.currencyrate"
    required = ("currency", "valid_from", "cny_per_unit")
    optional = ()
    staging_table = "sales_rate_import"
    staging_columns = ("line", "currency", "valid_from", "cny_per_unit")
    staging_pg_types = ("int4", "varchar", "date", "numeric")
    staging_key = ("currency", "valid_from")
    key_field = "valid_from"

    def staging_definition(self) -> str:
        # The same column types as the model's on each database, so values compare equal.
        day, rate = ("date", "numeric(18, 8)") if is_postgresql() else ("date", "decimal")
        return (
            f"line integer NOT NULL, currency varchar(3) NOT NULL, valid_from {day} NOT NULL,"
            f" cny_per_unit {rate}"
        )

    def duplicate_reason(self, first_line: int) -> str:
        return _("duplicate rate for this currency and date: also on line %(line)d") % {
            "line": first_line
        }

    def check_row(self, line: int, values: list[str]) -> tuple | None:
        if NOT_UTF8.search("".join(values)):
            self.report_not_utf8(line, values)
            return None
        currency, valid_from, cny_per_unit = (value.strip() for value in values)
        errors = self.errors
        ok = True

        def bad(field: str, reason: str, value: str) -> None:
            nonlocal ok
            ok = False
            errors.add(RowError(line=line, field=field, reason=reason, value=value))

        code = day = rate = None
        if not currency:
            bad("currency", _("the currency is required"), currency)
        else:
            try:
                code = currency_from_text(currency)
            except BadValue as error:
                bad("currency", error.reason, currency)
            else:
                if code == BASE_CURRENCY:
                    bad("currency", _("CNY is the ledger's currency: it needs no rate"), currency)
                    code = None
        try:
            day = date_from_text(valid_from)
        except BadValue as error:
            bad("valid_from", error.reason, valid_from)
        try:
            rate = rate_from_text(cny_per_unit)
        except BadValue as error:
            bad("cny_per_unit", error.reason, cny_per_unit)
        if code is None or day is None:
            return None
        return (line, code, day, rate if ok else None)

    def upsert(self) -> UpsertCounts:
        table = self.staging_table
        with connection.cursor() as cursor:
            # Per currency, the earliest day whose rate is new or different.
            cursor.execute(
                f"SELECT s.currency, MIN(s.valid_from) FROM {table} s"
                " LEFT JOIN sales_currencyrate r"
                " ON r.currency = s.currency AND r.valid_from = s.valid_from"
                " WHERE r.id IS NULL OR r.cny_per_unit <> s.cny_per_unit GROUP BY s.currency"
            )
            changed_from = {
                currency: date.fromisoformat(str(day)) for currency, day in cursor.fetchall()
            }
        sql = (
            "INSERT INTO sales_currencyrate (currency, valid_from, cny_per_unit)"
            f" SELECT currency, valid_from, cny_per_unit FROM {table} WHERE true"
            " ON CONFLICT (currency, valid_from) DO UPDATE SET"
            " cny_per_unit = excluded.cny_per_unit"
            " WHERE sales_currencyrate.cny_per_unit <> excluded.cny_per_unit"
        )
        counts = self.run_upsert(sql, [], target="sales_currencyrate")
        counts.extra["reconverted"] = _reconvert_orders(changed_from)
        return counts


def _reconvert_orders(changed_from: dict[str, date]) -> int:
    """Recompute the CNY values of the orders that changed rates govern; return how many
    changed. Walks the orders by id in batches (one pass over the table per currency)."""
    if not changed_from:
        return 0
    rates = RateBook.load(set(changed_from))
    reconverted = 0
    for currency, day in sorted(changed_from.items()):
        last_id = 0
        while True:
            batch = list(
                SalesOrder.objects.filter(
                    id__gt=last_id, currency=currency, paid_at__gte=china_day_start(day)
                )
                .order_by("id")
                .values_list(
                    "id",
                    "amount_fen",
                    "refunded_fen",
                    "amount_cny_fen",
                    "refunded_cny_fen",
                    "paid_at",
                )[:RECONVERT_BATCH_ROWS]
            )
            if not batch:
                break
            last_id = batch[-1][0]
            updates = []
            for order_id, amount, refunded, amount_cny, refunded_cny, paid_at in batch:
                rate = rates.rate_on(currency, china_date(paid_at))
                new = (to_cny_fen(amount, rate), to_cny_fen(refunded, rate))
                if new != (amount_cny, refunded_cny):
                    updates.append((*new, order_id))
            if updates:
                with connection.cursor() as cursor:
                    cursor.executemany(
                        "UPDATE sales_salesorder SET amount_cny_fen = %s, refunded_cny_fen = %s"
                        " WHERE id = %s",
                        updates,
                    )
                reconverted += len(updates)
    return reconverted

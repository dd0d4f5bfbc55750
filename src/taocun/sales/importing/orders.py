"""The orders import: ``platform,order_id,shop_id,amount,paid_at,status`` +
``currency,refunded_amount``.

Upsert by ``(platform, order_id)``; the shop is ``(platform, shop_id)`` and must already be
in the ledger (import the shops file first). Every column is written on every import: a
file without ``currency`` states CNY, one without ``refunded_amount`` states no refund
(a full refund for ``refunded`` orders).

Amounts in another currency are converted to CNY here, once, at the rate in force on the
China date of ``paid_at`` (see :mod:`taocun.sales.currency`); the label engine then never
needs rates.
"""

from datetime import UTC

from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from taocun.core.chinatime import china_date
from taocun.core.errors import RowError
from taocun.core.tabular import NOT_UTF8, is_postgresql
from taocun.sales.currency import BASE_CURRENCY, RateBook, to_cny_fen
from taocun.sales.importing.pipeline import (
    StagedImport,
    UpsertCounts,
    secondary_indexes_rebuilt,
    staged_instant_converter,
)
from taocun.sales.models import OrderStatus
from taocun.sales.validation import (
    PLAIN_YUAN_PATTERN,
    PLATFORM_PATTERN,
    SIMPLE_KEY_PATTERN,
    BadValue,
    currency_from_text,
    fen_from_plain,
    fen_from_yuan,
    key_from_text,
    platform_from_text,
    simple_utc,
    utc_from_text,
)

STATUSES = frozenset(OrderStatus.values)
_platform = PLATFORM_PATTERN.fullmatch
_key = SIMPLE_KEY_PATTERN.fullmatch
_yuan = PLAIN_YUAN_PATTERN.fullmatch
REFUNDED = OrderStatus.REFUNDED.value
# Written on every import; the key columns are not rewritten.
VALUE_COLUMNS = (
    "shop_id",
    "amount_fen",
    "currency",
    "refunded_fen",
    "amount_cny_fen",
    "refunded_cny_fen",
    "paid_at",
    "status",
)


class OrdersImport(StagedImport):
    kind = "orders"
    audit_action = "sales.orders_import"
    audit_object_type = "sales.salesorder"
    required = ("platform", "order_id", "shop_id", "amount", "paid_at", "status")
    optional = ("currency", "refunded_amount")
    staging_table = "sales_order_import"
    staging_columns = (
        "line",
        "platform",
        "order_id",
        "shop_id",
        "amount_fen",
        "currency",
        "refunded_fen",
        "amount_cny_fen",
        "refunded_cny_fen",
        "paid_at",
        "status",
    )
    staging_pg_types = (
        "int4",
        "varchar",
        "varchar",
        "varchar",
        "int8",
        "varchar",
        "int8",
        "int8",
        "int8",
        "timestamptz",
        "varchar",
    )
    staging_key = ("platform", "order_id")
    key_field = "order_id"

    def staging_definition(self) -> str:
        instant = "timestamptz" if is_postgresql() else "text"
        return (
            "line integer NOT NULL, platform varchar(20) NOT NULL, order_id varchar(64) NOT NULL,"
            " shop_id varchar(64), amount_fen bigint, currency varchar(3), refunded_fen bigint,"
            f" amount_cny_fen bigint, refunded_cny_fen bigint, paid_at {instant},"
            " status varchar(10)"
        )

    def duplicate_reason(self, first_line: int) -> str:
        return _("duplicate order: also on line %(line)d") % {"line": first_line}

    def prepare(self) -> None:
        self.instant_value = staged_instant_converter()
        self.rates = RateBook.load()

    def check_row(self, line: int, values: list[str]) -> tuple | None:
        """The fast form first (plain CNY amounts, no refund amount, well-formed keys and
        times: nearly every row of a platform export); anything else, including every bad
        row, goes through :meth:`check_row_fully`, which gives the same values."""
        platform, order_id, shop_id, amount, paid_at, status, currency, refunded = values
        if (
            status in STATUSES
            and not refunded
            and (not currency or currency == BASE_CURRENCY)
            and _platform(platform)
            and _key(order_id)
            and _key(shop_id)
            and (yuan := _yuan(amount))
            and (paid := simple_utc(paid_at)) is not None
        ):
            fen = fen_from_plain(yuan)
            refunded_fen = fen if status == REFUNDED else 0
            return (
                line,
                platform,
                order_id,
                shop_id,
                fen,
                BASE_CURRENCY,
                refunded_fen,
                fen,
                refunded_fen,
                self.instant_value(paid),
                status,
            )
        return self.check_row_fully(line, values)

    def check_row_fully(self, line: int, values: list[str]) -> tuple | None:
        platform, order_id, shop_id, amount, paid_at, status, currency, refunded = values
        if NOT_UTF8.search("".join(values)):
            self.report_not_utf8(line, values)
            return None
        platform, order_id, shop_id = platform.strip(), order_id.strip(), shop_id.strip()
        amount, paid_at, status = amount.strip(), paid_at.strip(), status.strip()
        errors = self.errors
        ok = True

        def bad(field: str, reason: str, value: str) -> None:
            nonlocal ok
            ok = False
            errors.add(RowError(line=line, field=field, reason=reason, value=value))

        try:
            platform_from_text(platform)
        except BadValue as error:
            bad("platform", error.reason, platform)
        try:
            key_from_text(order_id, what="order")
        except BadValue as error:
            bad("order_id", error.reason, order_id)
        keyed = ok  # a row with a usable key is staged, so duplicates are still found
        try:
            key_from_text(shop_id, what="shop")
        except BadValue as error:
            bad("shop_id", error.reason, shop_id)
            shop_id = None
        amount_fen = refunded_fen = None
        try:
            amount_fen = fen_from_yuan(amount)
        except BadValue as error:
            bad("amount", error.reason, amount)
        paid = None
        try:
            paid = utc_from_text(paid_at)
        except BadValue as error:
            bad("paid_at", error.reason, paid_at)
        if status not in STATUSES:
            bad("status", _("unknown status (expected completed, refunded or cancelled)"), status)
        refunded = refunded.strip()
        if refunded:
            try:
                refunded_fen = fen_from_yuan(refunded)
            except BadValue as error:
                bad("refunded_amount", error.reason, refunded)
            else:
                if amount_fen is not None and refunded_fen > amount_fen:
                    bad("refunded_amount", _("more than the amount"), refunded)
                elif refunded_fen == 0 and status == REFUNDED:
                    bad(
                        "refunded_amount",
                        _(
                            "a refunded order with nothing refunded "
                            "(leave it empty for a full refund)"
                        ),
                        refunded,
                    )
        elif status == REFUNDED:
            refunded_fen = amount_fen  # no amount given: a full refund
        else:
            refunded_fen = 0
        code = BASE_CURRENCY
        amount_cny_fen, refunded_cny_fen = amount_fen, refunded_fen
        currency = currency.strip()
        if currency:
            try:
                code = currency_from_text(currency)
            except BadValue as error:
                bad("currency", error.reason, currency)
                code = None
            if code is not None and code != BASE_CURRENCY and paid is not None:
                day = china_date(paid.replace(tzinfo=UTC))
                rate = self.rates.rate_on(code, day)
                if rate is None:
                    bad(
                        "currency",
                        _(
                            "no %(currency)s rate on or before %(day)s "
                            "(import one with: taocun sales import rates FILE)"
                        )
                        % {"currency": code, "day": day.isoformat()},
                        currency,
                    )
                elif amount_fen is not None and refunded_fen is not None:
                    try:
                        amount_cny_fen = to_cny_fen(amount_fen, rate)
                        refunded_cny_fen = to_cny_fen(refunded_fen, rate)
                    except OverflowError:
                        bad("amount", _("too large once converted to CNY"), amount)
        if not keyed:
            return None
        if not ok:
            return (line, platform, order_id, shop_id, None, None, None, None, None, None, None)
        return (
            line,
            platform,
            order_id,
            shop_id,
            amount_fen,
            code,
            refunded_fen,
            amount_cny_fen,
            refunded_cny_fen,
            self.instant_value(paid),
            status,
        )

    def check_staged(self) -> None:
        # With other errors to report, look for unknown shops now, so the user sees
        # everything at once. A clean file lets the upsert find them (see upsert()).
        if self.errors.items:
            self._report_unknown_shops()

    def _report_unknown_shops(self) -> None:
        self.fetch_errors(
            f"SELECT s.line, s.shop_id FROM {self.staging_table} s"
            " WHERE s.shop_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM sales_shop sh"
            " WHERE sh.platform = s.platform AND sh.shop_id = s.shop_id)",
            [],
            lambda row: RowError(
                line=row[0],
                field="shop_id",
                value=row[1],
                reason=_("unknown shop of this platform (import the shops file first)"),
            ),
        )

    def upsert(self) -> UpsertCounts:
        """One upsert resolving each order's shop with a LEFT JOIN: an unknown shop leaves
        ``shop_id`` NULL, which the column refuses, so the statement fails and only then
        are the unknown shops looked up. A clean file is read once instead of twice."""
        if is_postgresql():
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {self.staging_table}")
        columns = ", ".join(("platform", "order_id", *VALUE_COLUMNS))
        picked = ", ".join(
            "sh.id" if name == "shop_id" else f"s.{name}"
            for name in ("platform", "order_id", *VALUE_COLUMNS)
        )
        # shop_id is compared null-safely so that an unknown shop cannot pass as unchanged.
        changed = [f"sales_salesorder.shop_id {self.differs()} excluded.shop_id"] + [
            f"sales_salesorder.{name} <> excluded.{name}" for name in VALUE_COLUMNS[1:]
        ]
        sql = (
            f"INSERT INTO sales_salesorder ({columns}) SELECT {picked}"
            f" FROM {self.staging_table} s LEFT JOIN sales_shop sh"
            " ON sh.platform = s.platform AND sh.shop_id = s.shop_id WHERE true"
            " ON CONFLICT (platform, order_id) DO UPDATE SET "
            + ", ".join(f"{name} = excluded.{name}" for name in VALUE_COLUMNS)
            + " WHERE "
            + " OR ".join(changed)
        )
        with secondary_indexes_rebuilt("sales_salesorder", incoming_rows=self.rows):
            try:
                with transaction.atomic():
                    counts = self.run_upsert(sql, [], target="sales_salesorder")
            except IntegrityError:
                self._report_unknown_shops()
                self.errors.raise_if_any()
                raise
        return counts

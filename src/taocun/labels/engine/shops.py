"""Per shop: its counted sales in the window and whether it is active at the cut-off.

This is the one pass over the orders (the heavy part: 100 M rows nation-wide); everything
after it works on one row per shop. Orders are aggregated per shop *before* the join, so the
backend groups the big table once and joins a small one.

Definitions (``docs/labels.md``):

* Counted value of an order: ``amount - refunded``, zero when cancelled.
* An order counts towards activity unless it is cancelled or fully refunded. No minimum
  amount.
* Active at the cut-off: on a counted platform; open at least ``min_age_days`` × 24 h at the
  end of the cut-off day and not closed before it; and on average at least
  ``min_monthly_orders`` a month over the ``months`` before the cut-off — or, for a shop
  younger than that window, over its real age. "A month" is the activity window's length
  divided by ``months``, so the rule is continuous at the window's edge. A shop with ``k``
  orders is active when ``k`` reaches the full requirement, or when it opened late enough
  that ``k`` orders over its real age make the average: that latest opening instant is
  computed in Python for each ``k`` below the requirement (rounded up to the second), so the
  backend only compares timestamps.
"""

from __future__ import annotations

import datetime as dt
import math
from fractions import Fraction

import ibis
import ibis.expr.types as ir

from taocun.labels.engine.expressions import instant
from taocun.labels.rulesets import RuleSet, Window


def opening_deadlines(rules: RuleSet, window: Window) -> list[dt.datetime]:
    """For ``k`` = 0 … required−1 orders: the earliest opening instant at which ``k`` orders
    still make the monthly average (the shop must have opened at or after it)."""
    end = window.end_at
    span = Fraction(int((end - window.activity_start_at).total_seconds()))
    per_month = rules.min_monthly_orders * rules.activity_months
    deadlines = []
    for orders in range(rules.required_orders):
        # age <= orders * span / (min_monthly_orders * months)
        max_age = span * orders / per_month
        seconds = math.floor(max_age)  # rounding the age down rounds the instant up
        deadlines.append(end - dt.timedelta(seconds=seconds))
    return deadlines


def _counted(platform: ir.StringValue, rules: RuleSet) -> ir.BooleanValue:
    if rules.counted_platforms is None:
        return ibis.literal(True)
    return platform.isin(list(rules.counted_platforms))


def shop_activity(
    shops: ir.Table,
    orders: ir.Table,
    rules: RuleSet,
    window: Window,
    *,
    keys: tuple[str, ...] = ("platform", "shop_key"),
) -> ir.Table:
    """One row per shop: ``shop_key, platform, village_code, household_key, counted,
    sales_fen, activity_orders, open_at_cutoff, active``.

    ``sales_fen`` is the shop's counted value in the sales window (whatever its platform;
    ``counted`` says whether the rule set counts it). ``keys`` are the columns that identify
    a shop in both tables: ``platform`` and ``shop_key`` in files (a shop id is unique per
    platform), ``shop_key`` alone in the platform database (the shop's row id), which lets
    the database group the orders by its own index.
    """
    paid = orders.paid_at
    start_at = min(window.start_at, window.activity_start_at)
    in_window = orders.filter(paid >= instant(paid, start_at), paid < instant(paid, window.end_at))
    paid = in_window.paid_at
    cancelled = in_window.status == "cancelled"
    amount = in_window.amount_cny_fen
    refunded = in_window.refunded_cny_fen
    value = ibis.ifelse(cancelled, 0, amount - refunded)
    if window.start_at > start_at:
        value = ibis.ifelse(paid >= instant(paid, window.start_at), value, 0)
    counts = ~cancelled & ~((refunded >= amount) & (amount > 0))
    if window.activity_start_at > start_at:
        counts = counts & (paid >= instant(paid, window.activity_start_at))
    per_shop = in_window.group_by(list(keys)).aggregate(
        sales_fen=value.sum(),
        activity_orders=ibis.ifelse(counts, 1, 0).sum(),
    )
    joined = shops.left_join(per_shop, [shops[key] == per_shop[key] for key in keys]).select(
        shop_key=shops.shop_key,
        platform=shops.platform,
        village_code=shops.village_code,
        household_key=shops.household_key,
        opened_at=shops.opened_at,
        closed_at=shops.closed_at,
        sales_fen=per_shop.sales_fen.coalesce(0).cast("int64"),
        activity_orders=per_shop.activity_orders.coalesce(0).cast("int64"),
    )

    opened = joined.opened_at
    closed = joined.closed_at
    end = instant(opened, window.end_at)
    open_at_cutoff = (opened < end) & (closed.isnull() | (closed >= instant(closed, window.end_at)))
    old_enough = opened <= instant(opened, window.end_at - dt.timedelta(days=rules.min_age_days))
    deadlines = opening_deadlines(rules, window)
    if deadlines:
        earliest_opening = ibis.cases(
            *[
                (joined.activity_orders == orders, instant(opened, deadline))
                for orders, deadline in enumerate(deadlines)
            ],
            else_=instant(opened, dt.datetime(1970, 1, 1, tzinfo=dt.UTC)),
        )
        busy_enough = opened >= earliest_opening
    else:
        busy_enough = ibis.literal(True)
    counted = _counted(joined.platform, rules)
    return joined.select(
        "shop_key",
        "platform",
        "village_code",
        "household_key",
        "sales_fen",
        "activity_orders",
        counted=counted,
        open_at_cutoff=open_at_cutoff,
        active=counted & open_at_cutoff & old_enough & busy_enough,
    )


def shop_groups(shop_stats: ir.Table, rules: RuleSet) -> ir.Table:
    """The shops of :func:`shop_activity` added up per village and platform — and per
    household when the rule set counts households with an active shop — which is all the
    village step needs: ``village_code, platform, household_key, counted, sales_fen,
    open_shops, active_shops``.

    Two million shops become about a fifth as many rows, so the table the engine keeps
    between its steps, and the village, platform and town queries over it, stay small.
    ``open_shops`` counts shops on a counted platform that are open at the cut-off;
    ``household_key`` is null for the other bases, where it would only split the groups.
    """
    s = shop_stats
    by_household = rules.household_share_basis == "households_with_shop"
    keys = (
        ["village_code", "platform", "household_key"]
        if by_household
        else ["village_code", "platform"]
    )
    groups = s.group_by(keys).aggregate(
        sales_fen=s.sales_fen.sum().cast("int64"),
        open_shops=ibis.ifelse(s.counted & s.open_at_cutoff, 1, 0).sum().cast("int64"),
        active_shops=ibis.ifelse(s.active, 1, 0).sum().cast("int64"),
    )
    # ``counted`` depends on the platform alone, and the household is only a key when the
    # rule set needs it: neither is worth hashing two million times.
    return groups.select(
        "village_code",
        "platform",
        household_key=groups.household_key if by_household else ibis.null("string"),
        counted=_counted(groups.platform, rules),
        sales_fen=groups.sales_fen,
        open_shops=groups.open_shops,
        active_shops=groups.active_shops,
    )

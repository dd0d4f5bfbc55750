"""Per township: its labelled villages, sales and active shops, and whether it is a Taobao
town — and by which rule (``basis``).

Town totals add up *every* village of the township, eligible or not (a township's
e-commerce includes its residents' committees); only labelled villages count towards the
"at least 3 Taobao villages" rule.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from taocun.labels.criteria import BY_SALES_AND_SHOPS, BY_VILLAGES
from taocun.labels.engine.expressions import gap, passes
from taocun.labels.rulesets import RuleSet


def town_criteria(villages: ir.Table, divisions: ir.Table, rules: RuleSet) -> ir.Table:
    """One row per township that has villages in ``villages`` (the output of
    :func:`village_criteria`).

    Columns: ``code, name, county_code, villages, labeled_villages, sales_fen, active_shops,
    villages_passed, labeled_villages_gap, sales_shops_passed, sales_gap_fen,
    active_shops_gap, labeled, basis`` — ``basis`` is ``villages``, ``sales_shops``, both
    joined by ``+``, or empty.
    """
    v = villages.filter(villages.township_code.notnull())
    totals = v.group_by("township_code").aggregate(
        villages=v.count().cast("int64"),
        labeled_villages=ibis.ifelse(v.labeled, 1, 0).sum().cast("int64"),
        sales_fen=v.sales_fen.sum().cast("int64"),
        active_shops=v.active_shops.sum().cast("int64"),
    )
    names = divisions.select("code", "name", county_code="parent_code")
    joined = totals.join(names, totals.township_code == names.code)
    by_villages = passes(joined.labeled_villages, rules.town_labeled_villages)
    if rules.town_sales is not None and rules.town_active_shops is not None:
        by_sales = passes(joined.sales_fen, rules.town_sales)
        by_shops = passes(joined.active_shops, rules.town_active_shops)
        by_sales_and_shops = by_sales & by_shops
        sales_gap = gap(joined.sales_fen, rules.town_sales)
        shops_gap = gap(joined.active_shops, rules.town_active_shops)
    else:
        by_sales_and_shops = ibis.null("boolean")
        sales_gap = ibis.null("int64")
        shops_gap = ibis.null("int64")
    either = by_sales_and_shops.coalesce(False)
    basis = ibis.cases(
        (by_villages & either, f"{BY_VILLAGES}+{BY_SALES_AND_SHOPS}"),
        (by_villages, BY_VILLAGES),
        (either, BY_SALES_AND_SHOPS),
        else_="",
    )
    return joined.select(
        code=joined.township_code,
        name=joined.name,
        county_code=joined.county_code,
        villages=joined.villages,
        labeled_villages=joined.labeled_villages,
        sales_fen=joined.sales_fen,
        active_shops=joined.active_shops,
        villages_passed=by_villages,
        labeled_villages_gap=gap(joined.labeled_villages, rules.town_labeled_villages),
        sales_shops_passed=by_sales_and_shops,
        sales_gap_fen=sales_gap,
        active_shops_gap=shops_gap,
        labeled=by_villages | either,
        basis=basis,
    )

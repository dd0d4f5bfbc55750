"""Per village: what it sold, its active shops, its households, its eligibility, and each
criterion as pass / fail / unknown with the gap to its threshold.

Three-valued criteria: a criterion that cannot be decided (a household share when the
households are not known, or 0) is ``null`` — reported as *unknown*, never computed by a
division by zero. A village is labelled only when every required criterion is decided and
passes: eligible, sales, the main platform (when the rule set has one), and active shops
*or* the household share.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from taocun.labels.criteria import (
    COMMITTEE_KIND_EXCLUDED,
    NOT_A_VILLAGE_COMMITTEE,
    UR_CODE_UNKNOWN,
    URBAN,
)
from taocun.labels.engine.expressions import gap, needed_for_share, passes, share_passes
from taocun.labels.rulesets import RuleSet


def committee_kind(number: ir.IntegerValue) -> ir.StringValue:
    """The NBS committee kind from the last three digits of a village code (as
    ``regions.codes.committee_kind``)."""
    return ibis.cases(
        ((number >= 1) & (number <= 199), "residents"),
        ((number >= 200) & (number <= 399), "village"),
        ((number >= 400) & (number <= 599), "residents_like"),
        else_="village_like",
    )


def village_platform_sales(groups: ir.Table) -> ir.Table:
    """``village_code, platform, sales_fen, active_shops``: sales on every platform, from
    :func:`~taocun.labels.engine.shops.shop_groups`."""
    return groups.group_by(["village_code", "platform"]).aggregate(
        sales_fen=groups.sales_fen.sum().cast("int64"),
        active_shops=groups.active_shops.sum().cast("int64"),
    )


def _main_platform(groups: ir.Table, rules: RuleSet) -> ir.Table:
    """``village_code, main_platform, main_sales_fen, largest_other_fen``."""
    by_platform = village_platform_sales(groups)
    rank = ibis.row_number().over(
        group_by=by_platform.village_code,
        order_by=[by_platform.sales_fen.desc(), by_platform.platform.asc()],
    )
    top = (
        by_platform.filter(by_platform.sales_fen > 0)
        .mutate(rank=rank)
        .filter(lambda t: t.rank == 0)
        .select("village_code", main_platform="platform")
    )
    main = list(rules.main_platforms or ())
    is_main = by_platform.platform.isin(main) if main else ibis.literal(False)
    shares = by_platform.group_by("village_code").aggregate(
        main_sales_fen=by_platform.sales_fen.sum(where=is_main).coalesce(0).cast("int64"),
        largest_other_fen=by_platform.sales_fen.max(where=~is_main).coalesce(0).cast("int64"),
    )
    return shares.left_join(top, "village_code").select(
        shares.village_code, shares.main_sales_fen, shares.largest_other_fen, top.main_platform
    )


def _per_village(groups: ir.Table, rules: RuleSet) -> ir.Table:
    g = groups
    metrics = {
        "all_sales_fen": g.sales_fen.sum(),
        "sales_fen": g.sales_fen.sum(where=g.counted),
        "open_shops": g.open_shops.sum(),
        "active_shops": g.active_shops.sum(),
    }
    if rules.household_share_basis == "households_with_shop":
        # One group per household and platform: a household counts once however many of
        # its shops are active.
        metrics["households_with_shop"] = g.household_key.nunique(
            where=(g.active_shops > 0) & g.household_key.notnull()
        )
        metrics["active_shops_no_household"] = g.active_shops.sum(
            where=g.household_key.isnull()
        ).coalesce(0)
    return g.group_by("village_code").aggregate(**metrics)


def _places(divisions: ir.Table) -> ir.Table:
    """Villages with their township, county and position (own, township's or county's)."""
    village = divisions.filter(divisions.level == "village")
    # A village's parent is a township (or, rarely, a county); the township's is a county.
    # Joining only those levels keeps the hash tables small (43 k rows, not 713 k).
    parent = divisions.filter(divisions.level.isin(["township", "county"])).select(
        p_code="code", p_level="level", p_parent="parent_code", p_lat="lat", p_lon="lon"
    )
    grand = divisions.filter(divisions.level == "county").select(
        g_code="code", g_level="level", g_lat="lat", g_lon="lon"
    )
    joined = village.left_join(parent, village.parent_code == parent.p_code).left_join(
        grand, parent.p_parent == grand.g_code
    )
    parent_is_township = joined.p_level == "township"
    township_code = ibis.ifelse(parent_is_township, joined.p_code, ibis.null("string"))
    county_code = ibis.cases(
        (joined.p_level == "county", joined.p_code),
        (parent_is_township & (joined.g_level == "county"), joined.g_code),
        else_=ibis.null("string"),
    )
    own = joined.lat.notnull() & joined.lon.notnull()
    via_township = parent_is_township & joined.p_lat.notnull() & joined.p_lon.notnull()
    county_lat = ibis.ifelse(joined.p_level == "county", joined.p_lat, joined.g_lat)
    county_lon = ibis.ifelse(joined.p_level == "county", joined.p_lon, joined.g_lon)
    via_county = county_code.notnull() & county_lat.notnull() & county_lon.notnull()
    return joined.select(
        code=joined.code,
        name=joined.name,
        committee_kind=committee_kind(joined.code.substr(9, 3).cast("int64")),
        township_code=township_code,
        county_code=county_code,
        ur_code=joined.ur_code,
        households=joined.households.cast("int64"),
        position_level=ibis.cases(
            (own, "village"),
            (via_township, "township"),
            (via_county, "county"),
            else_=ibis.null("string"),
        ),
        lat=ibis.cases(
            (own, joined.lat),
            (via_township, joined.p_lat),
            (via_county, county_lat),
            else_=ibis.null("float64"),
        ),
        lon=ibis.cases(
            (own, joined.lon),
            (via_township, joined.p_lon),
            (via_county, county_lon),
            else_=ibis.null("float64"),
        ),
    )


def village_criteria(divisions: ir.Table, groups: ir.Table, rules: RuleSet) -> ir.Table:
    """One row per village of ``divisions`` (``level == 'village'``), shops or not, from the
    shop groups of :func:`~taocun.labels.engine.shops.shop_groups`.

    Columns: ``code, name, township_code, county_code, households, ur_code, committee_kind,
    eligible, eligibility_reason, sales_fen, all_sales_fen, main_platform, main_sales_fen,
    main_platform_passed, open_shops, active_shops, households_with_shop,
    active_shops_no_household, household_share, sales_passed, sales_gap_fen,
    active_shops_passed, active_shops_gap, household_share_passed, household_share_gap,
    labeled, position_level, lat, lon``.

    Sales are in fen; ``household_share`` is a float for display only (the criterion itself
    is decided in integers); gaps are in fen, shops or households (``docs/labels.md``).
    """
    places = _places(divisions)
    per_village = _per_village(groups, rules)
    joined = places.left_join(per_village, places.code == per_village.village_code)
    main = _main_platform(groups, rules)
    joined = joined.left_join(main, joined.code == main.village_code)

    def count(name: str) -> ir.IntegerValue:
        return joined[name].coalesce(0).cast("int64")

    sales = count("sales_fen")
    all_sales = count("all_sales_fen")
    active = count("active_shops")
    households = joined.households
    known = households.notnull() & (households > 0)

    # Eligibility: the committee kind, then the urban/rural class (from 2020).
    kind = joined.committee_kind
    allowed = kind.isin(list(rules.committees))
    ur_code = joined.ur_code
    reasons = [
        (~allowed & kind.isin(["residents", "residents_like"]), NOT_A_VILLAGE_COMMITTEE),
        (~allowed, COMMITTEE_KIND_EXCLUDED),
    ]
    if rules.rural_only:
        has_ur_code = ur_code.notnull() & (ur_code.length() == 3)
        reasons += [(~has_ur_code, UR_CODE_UNKNOWN), (~ur_code.startswith("2"), URBAN)]
    reason = ibis.cases(*reasons, else_="")

    # Sales, and the main platform.
    sales_passed = passes(sales, rules.village_sales)
    main_sales = count("main_sales_fen")
    if rules.main_platforms:
        main_ok = ibis.literal(False)
        if rules.main_min_share is not None:
            share = rules.main_min_share
            main_ok = main_ok | share_passes(main_sales, all_sales, share, ">=")
        if rules.main_or_largest:
            main_ok = main_ok | (main_sales >= count("largest_other_fen"))
        main_passed = (main_sales > 0) & main_ok
    else:
        main_passed = ibis.null("boolean")

    # Active shops, and the household share.
    if rules.village_active_shops is not None:
        shops_passed = passes(active, rules.village_active_shops)
        shops_gap = gap(active, rules.village_active_shops)
    else:
        shops_passed = ibis.literal(False)
        shops_gap = ibis.null("int64")
    with_shop = ibis.null("int64")
    no_household = ibis.null("int64")
    share_value = ibis.null("float64")
    share_passed = ibis.null("boolean")
    share_gap = ibis.null("int64")
    share_rule = rules.village_household_share
    if share_rule is not None:
        needed = needed_for_share(households, share_rule)
        if rules.household_share_basis == "households_with_shop":
            with_shop = count("households_with_shop")
            no_household = count("active_shops_no_household")
            numerator = with_shop
            decided_pass = with_shop >= needed
            decided_fail = (with_shop + no_household) < needed
            share_passed = ibis.cases(
                (~known, ibis.null("boolean")),
                (decided_pass, True),
                (decided_fail, False),
                else_=ibis.null("boolean"),
            )
        else:
            numerator = active
            share_passed = ibis.ifelse(known, active >= needed, ibis.null("boolean"))
        share_value = ibis.ifelse(
            known, numerator.cast("float64") / households.cast("float64"), ibis.null("float64")
        )
        share_gap = ibis.ifelse(
            known, ibis.greatest(needed - numerator, 0), ibis.null("int64")
        ).cast("int64")

    criteria = joined.select(
        code=joined.code,
        name=joined.name,
        township_code=joined.township_code,
        county_code=joined.county_code,
        households=households,
        ur_code=ur_code,
        committee_kind=kind,
        eligibility_reason=reason,
        sales_fen=sales,
        all_sales_fen=all_sales,
        main_platform=joined.main_platform,
        main_sales_fen=main_sales,
        main_platform_passed=main_passed,
        open_shops=count("open_shops"),
        active_shops=active,
        households_with_shop=with_shop,
        active_shops_no_household=no_household,
        household_share=share_value,
        sales_passed=sales_passed,
        sales_gap_fen=gap(sales, rules.village_sales),
        active_shops_passed=shops_passed,
        active_shops_gap=shops_gap,
        household_share_passed=share_passed,
        household_share_gap=share_gap,
        position_level=joined.position_level,
        lat=joined.lat,
        lon=joined.lon,
    )
    # The label from the criteria columns (a second step, so each criterion is computed
    # once rather than inlined again into the label's expression).
    eligible = criteria.eligibility_reason == ""
    labeled = (
        eligible
        & criteria.sales_passed
        & (criteria.active_shops_passed | criteria.household_share_passed.coalesce(False))
    )
    if rules.main_platforms:
        labeled = labeled & criteria.main_platform_passed
    return criteria.select(
        *[name for name in criteria.columns if name not in {"position_level", "lat", "lon"}],
        eligible=eligible,
        labeled=labeled,
        position_level=criteria.position_level,
        lat=criteria.lat,
        lon=criteria.lon,
    )

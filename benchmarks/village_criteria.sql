-- The village criteria of one round, hand-written for DuckDB over the Parquet interchange
-- files (DIR/divisions.parquet, DIR/shops/*.parquet, DIR/orders/*.parquet): the baseline the
-- label engine is measured against (benchmarks/labels_duckdb.py, docs/benchmarks.md).
--
-- One row per village-level division: counted sales in the window (fen), active shops,
-- households, household share, eligibility, each criterion's pass/fail and the label. The
-- definitions are the engine's (labels/engine/shops.py, villages.py; docs/labels.md):
--   * counted value of an order = amount - refunded_amount, zero when cancelled;
--   * sales = counted value on the counted platforms, paid in [window_start, window_end);
--   * an order counts towards activity unless cancelled or fully refunded;
--   * an active shop is on a counted platform, open at the end of the cut-off day, opened
--     at least min_age_days before it, and has at least required_orders orders in
--     [activity_start, window_end) - or, younger than that, k orders with
--     age <= floor(span_s * k / orders_per_window) seconds (the monthly average over its
--     real age);
--   * the household share passes when active_shops * share_den >= share_num * households,
--     and is unknown (null) when households is null or 0;
--   * labelled = eligible and sales pass and (active shops pass or the share passes).
-- Rule sets with a main-platform rule, the households_with_shop basis or strict (>) village
-- comparisons are outside this baseline; the runner refuses them.
--
-- Parameters, set before running (benchmarks/labels_duckdb.py sets them from a rule set):
--   SET VARIABLE divisions = 'DIR/divisions.parquet';
--   SET VARIABLE shops = 'DIR/shops/*.parquet';
--   SET VARIABLE orders = 'DIR/orders/*.parquet';
--   SET VARIABLE platforms = ['taobao', 'tmall', '1688', 'xianyu', 'aliexpress', 'fliggy', 'hema'];
--   SET VARIABLE window_start = TIMESTAMPTZ '2018-06-30 16:00:00+00';   -- inclusive
--   SET VARIABLE window_end = TIMESTAMPTZ '2019-06-30 16:00:00+00';     -- the next China day
--   SET VARIABLE activity_start = TIMESTAMPTZ '2019-03-31 16:00:00+00';
--   SET VARIABLE old_enough_at = TIMESTAMPTZ '2019-05-31 16:00:00+00';  -- window_end - min_age_days
--   SET VARIABLE required_orders = 3;
--   SET VARIABLE span_s = 7948800;             -- seconds from activity_start to window_end
--   SET VARIABLE orders_per_window = 3;        -- min_monthly_orders * months (a whole number)
--   SET VARIABLE sales_fen = 1000000000;       -- >= (¥10,000,000.00)
--   SET VARIABLE active_shops = 100;           -- >=
--   SET VARIABLE share_num = 1;                -- >= 1/10 of the households
--   SET VARIABLE share_den = 10;
--   SET VARIABLE committees = ['village', 'village_like'];
--   SET VARIABLE rural_only = false;
WITH
window_orders AS (
    SELECT
        platform,
        shop_id,
        paid_at,
        status,
        amount,
        coalesce(refunded_amount, 0) AS refunded
    FROM read_parquet(getvariable('orders'))
    WHERE paid_at >= least(getvariable('window_start'), getvariable('activity_start'))
      AND paid_at < getvariable('window_end')
      AND list_contains(getvariable('platforms'), platform)
),
per_shop AS (
    SELECT
        platform,
        shop_id,
        CAST(
            sum(amount - refunded) FILTER (
                WHERE status <> 'cancelled' AND paid_at >= getvariable('window_start')
            ) * 100 AS BIGINT
        ) AS sales_fen,
        count(*) FILTER (
            WHERE status <> 'cancelled'
              AND NOT (refunded >= amount AND amount > 0)
              AND paid_at >= getvariable('activity_start')
        ) AS activity_orders
    FROM window_orders
    GROUP BY platform, shop_id
),
shop_status AS (
    SELECT
        s.village_code,
        coalesce(p.sales_fen, 0) AS sales_fen,
        s.opened_at < getvariable('window_end')
        AND (s.closed_at IS NULL OR s.closed_at >= getvariable('window_end'))
        AND s.opened_at <= getvariable('old_enough_at')
        AND (
            coalesce(p.activity_orders, 0) >= getvariable('required_orders')
            OR epoch(getvariable('window_end')) - epoch(s.opened_at)
                <= floor(getvariable('span_s') * coalesce(p.activity_orders, 0)
                         / getvariable('orders_per_window'))
        ) AS active
    FROM read_parquet(getvariable('shops')) AS s
    LEFT JOIN per_shop AS p USING (platform, shop_id)
    WHERE list_contains(getvariable('platforms'), s.platform)
),
per_village AS (
    SELECT
        village_code,
        sum(sales_fen) AS sales_fen,
        count(*) FILTER (WHERE active) AS active_shops
    FROM shop_status
    GROUP BY village_code
),
villages AS (
    SELECT
        d.code,
        d.name,
        CAST(d.households AS BIGINT) AS households,
        list_contains(
            getvariable('committees'),
            CASE
                WHEN CAST(substr(d.code, 10, 3) AS INTEGER) BETWEEN 1 AND 199 THEN 'residents'
                WHEN CAST(substr(d.code, 10, 3) AS INTEGER) BETWEEN 200 AND 399 THEN 'village'
                WHEN CAST(substr(d.code, 10, 3) AS INTEGER) BETWEEN 400 AND 599 THEN 'residents_like'
                ELSE 'village_like'
            END
        )
        AND (NOT getvariable('rural_only') OR starts_with(coalesce(d.ur_code, ''), '2'))
            AS eligible,
        CAST(coalesce(v.sales_fen, 0) AS BIGINT) AS sales_fen,
        coalesce(v.active_shops, 0) AS active_shops
    FROM read_parquet(getvariable('divisions')) AS d
    LEFT JOIN per_village AS v ON v.village_code = d.code
    WHERE d.level = 'village'
),
criteria AS (
    SELECT
        *,
        CASE WHEN households > 0 THEN active_shops / households END AS household_share,
        sales_fen >= getvariable('sales_fen') AS sales_passed,
        active_shops >= getvariable('active_shops') AS shops_passed,
        CASE WHEN households > 0
             THEN active_shops * getvariable('share_den') >= getvariable('share_num') * households
        END AS share_passed
    FROM villages
)
SELECT
    code,
    name,
    sales_fen,
    active_shops,
    households,
    household_share,
    eligible,
    sales_passed,
    shops_passed,
    share_passed,
    eligible AND sales_passed AND (shops_passed OR coalesce(share_passed, false)) AS labeled
FROM criteria
ORDER BY code

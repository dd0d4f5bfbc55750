"""The village criteria of one round in plain pandas: the "straightforward implementation"
the label engine on DuckDB is compared with (``benchmarks/labels_duckdb.py``).

Straightforward on purpose: read the needed columns of every orders file into one
DataFrame, filter the window, group by shop, join the shops, group by village, join the
divisions. The definitions are the engine's, as spelled out in
``benchmarks/village_criteria.sql``. Amounts stay exact (decimals turned into integer fen,
never floats).

Two flavours: ``--dtypes arrow`` (default) reads with pandas' Arrow dtypes, so decimals stay
Arrow decimals (about 76 bytes per order row in memory); ``--dtypes default`` is what
``pd.read_parquet`` gives without options: every amount becomes a Python ``Decimal`` object
(about 280 bytes per order row, and arithmetic one object at a time).

    .venv/bin/python benchmarks/labels_pandas.py DIR --rules aliresearch-2019 --out villages.csv
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
from labels_duckdb import round_parameters  # benchmarks/ is the script's folder

DTYPES = ("arrow", "default")


def village_criteria_pandas(data: Path, p: dict, *, dtypes: str = "arrow") -> pd.DataFrame:
    arrow = dtypes == "arrow"
    backend = {"dtype_backend": "pyarrow"} if arrow else {}
    integer = "int64[pyarrow]" if arrow else "int64"
    orders = pd.read_parquet(
        data / "orders",
        columns=["platform", "shop_id", "amount", "paid_at", "status", "refunded_amount"],
        **backend,
    )
    start = min(p["window_start"], p["activity_start"])
    orders = orders[
        (orders["paid_at"] >= start)
        & (orders["paid_at"] < p["window_end"])
        & orders["platform"].isin(p["platforms"])
    ]
    amount = (orders["amount"] * 100).astype(integer)
    refunded = (orders["refunded_amount"].fillna(0) * 100).astype(integer)
    cancelled = orders["status"] == "cancelled"
    in_sales_window = orders["paid_at"] >= p["window_start"]
    value = (amount - refunded).where(~cancelled & in_sales_window, 0)
    counts = (
        ~cancelled
        & ~((refunded >= amount) & (amount > 0))
        & (orders["paid_at"] >= p["activity_start"])
    )
    per_shop = (
        pd.DataFrame(
            {
                "platform": orders["platform"],
                "shop_id": orders["shop_id"],
                "sales_fen": value,
                "activity_orders": counts.astype(integer),
            }
        )
        .groupby(["platform", "shop_id"], observed=True)
        .sum()
        .reset_index()
    )
    del orders, amount, refunded, cancelled, value, counts

    shops = pd.read_parquet(
        data / "shops",
        columns=["platform", "shop_id", "village_code", "opened_at", "closed_at"],
        **backend,
    )
    shops = shops[shops["platform"].isin(p["platforms"])].merge(
        per_shop, on=["platform", "shop_id"], how="left"
    )
    orders_done = shops["activity_orders"].fillna(0)
    age_s = (p["window_end"] - shops["opened_at"]).dt.total_seconds()
    young_enough = age_s <= (p["span_s"] * orders_done // p["orders_per_window"])
    shops["active"] = (
        (shops["opened_at"] < p["window_end"])
        & (shops["closed_at"].isna() | (shops["closed_at"] >= p["window_end"]))
        & (shops["opened_at"] <= p["old_enough_at"])
        & ((orders_done >= p["required_orders"]) | young_enough)
    ).fillna(False)
    shops["sales_fen"] = shops["sales_fen"].fillna(0).astype(integer)
    per_village = shops.groupby("village_code").agg(
        sales_fen=("sales_fen", "sum"), active_shops=("active", "sum")
    )

    divisions = pd.read_parquet(
        data / "divisions.parquet",
        columns=["code", "name", "level", "ur_code", "households"],
        **backend,
    )
    villages = divisions[divisions["level"] == "village"].merge(
        per_village, left_on="code", right_index=True, how="left"
    )
    villages["sales_fen"] = villages["sales_fen"].fillna(0).astype(integer)
    villages["active_shops"] = villages["active_shops"].fillna(0).astype(integer)
    number = villages["code"].str.slice(9, 12).astype(integer)
    kind = pd.Series("village_like", index=villages.index)
    kind[number.between(1, 199)] = "residents"
    kind[number.between(200, 399)] = "village"
    kind[number.between(400, 599)] = "residents_like"
    eligible = kind.isin(p["committees"])
    if p["rural_only"]:
        eligible &= villages["ur_code"].fillna("").str.startswith("2")
    households = villages["households"].astype(integer if arrow else "Int64")
    known = households.notna() & (households > 0)
    villages["eligible"] = eligible
    villages["sales_passed"] = villages["sales_fen"] >= p["sales_fen"]
    villages["shops_passed"] = villages["active_shops"] >= p["active_shops"]
    villages["share_passed"] = (
        villages["active_shops"] * p["share_den"] >= p["share_num"] * households
    ).where(known, pd.NA)
    villages["labeled"] = (
        villages["eligible"]
        & villages["sales_passed"]
        & (villages["shops_passed"] | villages["share_passed"].fillna(False))
    )
    columns = ["code", "name", "sales_fen", "active_shops", "households", "labeled"]
    return villages[columns].sort_values("code").reset_index(drop=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="a folder written by taocun synth")
    parser.add_argument("--rules", default="aliresearch-2019")
    parser.add_argument("--out", type=Path, required=True, help="villages CSV to write")
    parser.add_argument("--dtypes", choices=DTYPES, default="arrow")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = village_criteria_pandas(args.data, round_parameters(args.rules), dtypes=args.dtypes)
    result.to_csv(args.out, index=False)
    seconds = time.perf_counter() - started
    labeled = int(result["labeled"].sum())
    print(f"compute_seconds={seconds:.3f} villages={len(result)} labeled={labeled}", flush=True)


if __name__ == "__main__":
    sys.exit(main())

"""The label engine on DuckDB over Parquet, against a hand-written DuckDB query and pandas.

Three ways to compute one round's village criteria from a folder written by
``taocun synth`` (``divisions.parquet``, ``shops/*.parquet``, ``orders/*.parquet``):

* ``engine`` — ``taocun labels evaluate --rules R --source parquet:DIR --out OUT``: the
  full evaluation (villages, towns, clusters, three CSV files);
* ``sql`` — ``benchmarks/village_criteria.sql``, one hand-written DuckDB query for the
  village criteria only, written to a CSV file with ``COPY``;
* ``pandas`` — ``benchmarks/labels_pandas.py``, the same rules in plain pandas (Arrow
  dtypes); ``pandas-default`` the same with pandas' default dtypes (decimals as Python
  objects: several times the memory).

Each run is a fresh process under ``/usr/bin/time -v``: the wall clock of the whole process
(start-up included) and its peak resident memory are what count. The runs of one method
follow each other; the median of ``--runs`` is reported, then the ratios. The three results
are compared village by village (sales, active shops, label): a benchmark of different
answers would be meaningless.

    .venv/bin/python benchmarks/labels_duckdb.py bench /tmp/taocun-bench/synth-100m \
        --rules aliresearch-2019 --runs 3 [--orders-files N] [--methods engine,sql,pandas]

``--orders-files N`` evaluates the first N orders files only (a subset folder of symbolic
links), for pandas when all the orders do not fit in memory; every method then runs on the
same subset. ``sql DIR --rules R --out FILE`` runs the query once (what ``bench`` times).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = sys.executable
TAOCUN = str(Path(PYTHON).with_name("taocun"))
METHODS = ("engine", "sql", "pandas", "pandas-default")


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taocun.settings")
    import django

    django.setup()


def round_parameters(rules_name: str) -> dict:
    """The parameters of ``village_criteria.sql`` (and of the pandas version) for a rule set."""
    _django()
    from taocun.labels.rulesets import rule_set_load

    rules = rule_set_load(rules_name)
    refused = []
    if rules.main_platforms:
        refused.append("a main-platform rule")
    if rules.household_share_basis != "shops_per_household":
        refused.append("the households_with_shop basis")
    thresholds = [rules.village_sales, rules.village_active_shops, rules.village_household_share]
    if any(t is not None and t.comparison != ">=" for t in thresholds):
        refused.append("a strict village comparison")
    per_window = Fraction(rules.min_monthly_orders) * rules.activity_months
    if per_window.denominator != 1:
        refused.append("a fractional number of orders per activity window")
    if refused:
        raise SystemExit(f"{rules.name}: the baseline query does not cover {', '.join(refused)}")
    window = rules.window_for()
    share = (
        Fraction(rules.village_household_share.threshold) if rules.village_household_share else None
    )
    return {
        "rules": rules.name,
        "platforms": list(rules.counted_platforms or _all_platforms()),
        "window_start": window.start_at,
        "window_end": window.end_at,
        "activity_start": window.activity_start_at,
        "old_enough_at": window.end_at - dt.timedelta(days=rules.min_age_days),
        "required_orders": rules.required_orders,
        "span_s": int((window.end_at - window.activity_start_at).total_seconds()),
        "orders_per_window": int(per_window),
        "sales_fen": int(rules.village_sales.threshold),
        # No active-shops rule: a count no village reaches.
        "active_shops": int(rules.village_active_shops.threshold)
        if rules.village_active_shops
        else 2**62,
        # No share rule: a share no village reaches (more active shops than 2^40 households).
        "share_num": share.numerator if share is not None else 2**40,
        "share_den": share.denominator if share is not None else 1,
        "committees": list(rules.committees),
        "rural_only": bool(rules.rural_only),
    }


def _all_platforms() -> list[str]:
    from taocun.synth.economy import PLATFORMS

    return [p.name for p in PLATFORMS]


def run_sql(data: Path, params: dict, out: Path) -> None:
    import duckdb

    connection = duckdb.connect()
    variables = {
        "divisions": str(data / "divisions.parquet"),
        "shops": str(data / "shops" / "*.parquet"),
        "orders": str(data / "orders" / "*.parquet"),
        **{key: value for key, value in params.items() if key != "rules"},
    }
    for name, value in variables.items():
        connection.execute(f"SET VARIABLE {name} = $value", {"value": value})
    query = (HERE / "village_criteria.sql").read_text(encoding="utf-8")
    connection.execute(f"COPY ({query}) TO '{out}' (HEADER, DELIMITER ',')")


# --- benchmark ------------------------------------------------------------------------------


def _subset(data: Path, files: int, into: Path) -> Path:
    """A folder of symbolic links: all shops and divisions, the first ``files`` orders files."""
    into.mkdir(parents=True, exist_ok=True)
    (into / "divisions.parquet").symlink_to(data / "divisions.parquet")
    (into / "shops").symlink_to(data / "shops")
    (into / "orders").mkdir()
    for path in sorted((data / "orders").glob("part-*.parquet"))[:files]:
        (into / "orders" / path.name).symlink_to(path)
    return into


def _timed(command: list[str]) -> dict:
    """Run under /usr/bin/time -v: wall seconds, peak RSS, and the child's output."""
    completed = subprocess.run(
        ["/usr/bin/time", "-v", *command], capture_output=True, text=True, cwd=ROOT
    )
    if completed.returncode != 0:
        raise SystemExit(
            f"{' '.join(command)} failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
        )
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", completed.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", completed.stderr)
    parts = [float(x) for x in wall.group(1).split(":")]
    seconds = sum(part * 60**power for power, part in enumerate(reversed(parts)))
    return {"seconds": seconds, "peak_mb": int(rss.group(1)) / 1024, "output": completed.stdout}


def _command(method: str, data: Path, rules: str, out: Path) -> list[str]:
    if method == "engine":
        return [TAOCUN, "labels", "evaluate", "--rules", rules, "--source", f"parquet:{data}",
                "--out", str(out), "--no-progress"]  # fmt: skip
    if method == "sql":
        return [PYTHON, str(HERE / "labels_duckdb.py"), "sql", str(data), "--rules", rules,
                "--out", str(out / "villages.csv")]  # fmt: skip
    dtypes = "default" if method == "pandas-default" else "arrow"
    return [PYTHON, str(HERE / "labels_pandas.py"), str(data), "--rules", rules,
            "--out", str(out / "villages.csv"), "--dtypes", dtypes]  # fmt: skip


def _villages(method: str, out: Path) -> dict[str, tuple[int, int, bool]]:
    """code → (sales in fen, active shops, labelled) from one method's villages.csv."""
    rows = {}
    with (out / "villages.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if method == "engine":
                whole, _, cents = row["sales"].partition(".")
                fen = int(whole) * 100 + int((cents + "00")[:2])
            else:
                fen = int(row["sales_fen"])
            labeled = row["labeled"].strip().lower() == "true"
            rows[row["code"]] = (fen, int(row["active_shops"]), labeled)
    return rows


def _compare(results: dict[str, dict]) -> list[str]:
    notes = []
    methods = list(results)
    base = results[methods[0]]
    for other in methods[1:]:
        rows = results[other]
        differing = [code for code in base if rows.get(code) != base[code]]
        missing = len(set(base) ^ set(rows))
        notes.append(
            f"{methods[0]} vs {other}: {len(base):,} villages, {len(differing):,} differ, "
            f"{missing:,} only in one" + (f" (first: {differing[:3]})" if differing else "")
        )
    return notes


def bench(args: argparse.Namespace) -> None:
    data: Path = args.data.resolve()
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise SystemExit(f"unknown methods: {', '.join(sorted(unknown))}")
    scratch = Path(tempfile.mkdtemp(prefix="taocun-labels-bench-"))
    try:
        if args.orders_files:
            data = _subset(data, args.orders_files, scratch / "subset")
        orders = _count_rows(data / "orders")
        print(f"data: {data} ({orders:,} orders), rules {args.rules}, runs {args.runs}", flush=True)
        report = {"data": str(args.data), "orders": orders, "rules": args.rules,
                  "machine": _machine(), "methods": {}}  # fmt: skip
        answers = {}
        for method in methods:
            runs = []
            for number in range(args.runs):
                out = scratch / f"{method}-{number}"
                out.mkdir()
                result = _timed(_command(method, data, args.rules, out))
                runs.append(result)
                print(f"  {method} run {number + 1}: {result['seconds']:.1f} s, "
                      f"peak {result['peak_mb']:,.0f} MB", flush=True)  # fmt: skip
                if number == 0:
                    answers[method] = _villages(method, out)
                shutil.rmtree(out)
            median = statistics.median(r["seconds"] for r in runs)
            report["methods"][method] = {
                "seconds": [round(r["seconds"], 2) for r in runs],
                "median_s": round(median, 2),
                "peak_mb": round(max(r["peak_mb"] for r in runs)),
            }
        medians = {m: v["median_s"] for m, v in report["methods"].items()}
        if "engine" in medians and "sql" in medians:
            report["engine_over_sql"] = round(medians["engine"] / medians["sql"], 2)
        if "engine" in medians and "pandas" in medians:
            report["pandas_over_engine"] = round(medians["pandas"] / medians["engine"], 2)
        if "sql" in medians and "pandas" in medians:
            report["pandas_over_sql"] = round(medians["pandas"] / medians["sql"], 2)
        report["agreement"] = _compare(answers) if len(answers) > 1 else []
        labeled = {m: sum(1 for v in rows.values() if v[2]) for m, rows in answers.items()}
        report["labeled_villages"] = labeled
        print(json.dumps(report, indent=2, ensure_ascii=False), flush=True)
        if args.report:
            args.report.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _count_rows(folder: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(path).metadata.num_rows for path in sorted(folder.glob("*.parquet")))


def _machine() -> dict:
    import duckdb
    import pandas

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(memory, 1),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "pandas": pandas.__version__,
        "load_average_at_start": [round(x, 1) for x in os.getloadavg()],
        "date": dt.date.today().isoformat(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    actions = parser.add_subparsers(dest="action", required=True)
    benching = actions.add_parser("bench", help="time every method and compare their answers")
    benching.add_argument("data", type=Path)
    benching.add_argument("--rules", default="aliresearch-2019")
    benching.add_argument("--runs", type=int, default=3)
    benching.add_argument("--methods", default="engine,sql,pandas", help=", ".join(METHODS))
    benching.add_argument("--orders-files", type=int, metavar="N")
    benching.add_argument("--report", type=Path, help="also write the report as JSON")
    one = actions.add_parser("sql", help="run the hand-written query once")
    one.add_argument("data", type=Path)
    one.add_argument("--rules", default="aliresearch-2019")
    one.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.action == "bench":
        bench(args)
        return
    started = time.perf_counter()
    run_sql(args.data, round_parameters(args.rules), args.out)
    print(f"compute_seconds={time.perf_counter() - started:.3f}", flush=True)


if __name__ == "__main__":
    main()

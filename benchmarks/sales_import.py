"""Time the sales ledger imports: shops, then 1,000,000 orders, into a fresh database.

The files are generated (deterministic by ``--seed``) for real village codes of the demo
slice of the division table (``src/taocun/demo/data/divisions-demo.csv.gz``), or given with
``--shops`` and ``--orders`` (then also ``--divisions``: a divisions file holding their
villages, e.g. the national table for ``taocun synth`` output). Each run happens in its own
process on a database created for it: migrate, import the divisions (untimed), the shops
and the orders (each timed), then the same shops and orders again (all unchanged, timed).
SQLite always; PostgreSQL too when ``DATABASE_URL`` names a PostgreSQL server (a database
``taocun_bench`` is dropped and created on that server for each run).

    .venv/bin/python benchmarks/sales_import.py --runs 3
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/taocun_bench .venv/bin/python \\
        benchmarks/sales_import.py --runs 3
    .venv/bin/python benchmarks/sales_import.py --order-count 10000000 --runs 1 --only sqlite
    # taocun synth output (one shops and one orders file) over the national table
    .venv/bin/python benchmarks/sales_import.py \\
        --divisions ../shared/data/divisions-cn-2016.csv.gz \\
        --shops DIR/shops/part-00000.parquet --orders DIR/orders/part-00000.parquet

Results go in docs/benchmarks.md. Nothing here asserts a time: machines differ.
"""

import argparse
import csv
import gzip
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DIVISIONS_FILE = REPO / "src" / "taocun" / "demo" / "data" / "divisions-demo.csv.gz"
BENCH_DATABASE = "taocun_bench"  # never taocun or test_*: dropped and created per run
PLATFORMS = ("taobao", "taobao", "taobao", "tmall", "1688", "xianyu", "jd", "pinduoduo")


# --- the files ---------------------------------------------------------------------------


def village_codes() -> list[str]:
    with gzip.open(DIVISIONS_FILE, "rt", encoding="utf-8") as stream:
        return [row["code"] for row in csv.DictReader(stream) if row["level"] == "village"]


def write_files(directory: Path, *, shop_count: int, order_count: int, seed: int, form: str):
    """``shops.csv.gz`` and ``orders.<form>`` in ``directory``; reused when present."""
    shops_path = directory / f"shops-{shop_count}-{seed}.csv.gz"
    orders_path = directory / f"orders-{order_count}-{shop_count}-{seed}.{form}"
    if shops_path.exists() and orders_path.exists():
        return shops_path, orders_path
    rng = random.Random(seed)
    villages = village_codes()
    start = datetime(2016, 1, 1, tzinfo=UTC)
    shops = []
    with gzip.open(shops_path, "wt", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["platform", "shop_id", "village_code", "opened_at", "kind"])
        for number in range(shop_count):
            platform = rng.choice(PLATFORMS)
            shop_id = f"{platform[:2]}{number:08d}"
            opened = start - timedelta(days=rng.randrange(30, 2000))
            kind = "enterprise" if rng.random() < 0.1 else "personal"
            writer.writerow([platform, shop_id, rng.choice(villages), opened.isoformat(), kind])
            shops.append((platform, shop_id))
    # Heavy-tailed shop sizes: a few shops take most orders (Pareto weights).
    weights = [rng.paretovariate(1.2) for _ in shops]
    chosen = rng.choices(range(len(shops)), weights=weights, k=order_count)
    seconds = 3 * 365 * 86400
    times = sorted(rng.randrange(seconds) for _ in range(order_count))
    header = ["platform", "order_id", "shop_id", "amount", "paid_at", "status", "refunded_amount"]
    rows = _order_rows(rng, shops, chosen, times, start)
    if form == "parquet":
        _write_parquet(orders_path, header, rows)
    else:
        opener = gzip.open if form == "csv.gz" else open
        with opener(orders_path, "wt", encoding="utf-8", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(header)
            writer.writerows(rows)
    return shops_path, orders_path


def _order_rows(rng, shops, chosen, times, start):
    order_number = 2_016_000_000_000_000
    for index, offset in zip(chosen, times, strict=True):
        platform, shop_id = shops[index]
        order_number += rng.randrange(1, 50)
        fen = max(1, int(rng.lognormvariate(8.5, 1.2)))  # median about ¥49
        draw = rng.random()
        status, refunded = "completed", ""
        if draw < 0.03:
            status = "refunded"
            if draw < 0.01:
                refunded = f"{fen // 2 // 100}.{fen // 2 % 100:02d}"
        elif draw < 0.05:
            status = "cancelled"
        # China time without an offset, as Chinese platforms' exports write it.
        paid = start + timedelta(seconds=offset + 8 * 3600)
        yield (
            platform,
            str(order_number),
            shop_id,
            f"{fen // 100}.{fen % 100:02d}",
            paid.strftime("%Y-%m-%d %H:%M:%S"),
            status,
            refunded,
        )


def _write_parquet(path: Path, header: list[str], rows) -> None:
    """Typed as a data pipeline would write it: amounts ``decimal(18, 2)``, ``paid_at`` a
    naive timestamp (China time), the rest text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    money = pa.decimal128(18, 2)

    def typed(name: str, values: tuple) -> pa.Array:
        if name in ("amount", "refunded_amount"):
            return pa.array([Decimal(v) if v else None for v in values], type=money)
        if name == "paid_at":
            return pa.array([datetime.fromisoformat(v) for v in values], type=pa.timestamp("s"))
        return pa.array(values, type=pa.string())

    writer = None
    batch: list[tuple] = []

    def flush() -> None:
        nonlocal writer
        columns = list(zip(*batch, strict=True))
        table = pa.table(
            {name: typed(name, values) for name, values in zip(header, columns, strict=True)}
        )
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
        batch.clear()

    for row in rows:
        batch.append(row)
        if len(batch) >= 200_000:
            flush()
    if batch:
        flush()
    writer.close()


# --- one run -----------------------------------------------------------------------------


def one_run(divisions_path: Path, shops_path: Path, orders_path: Path) -> dict:
    """In the child process: migrate, import divisions, then shops and orders twice each."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taocun.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from taocun.regions.importing import divisions_import
    from taocun.sales.importing import orders_import, shops_import

    call_command("migrate", verbosity=0)
    divisions = divisions_import(path=divisions_path)
    shops = shops_import(path=shops_path)
    shops_again = shops_import(path=shops_path)
    cpu = time.process_time()
    fresh = orders_import(path=orders_path)
    fresh_cpu = time.process_time() - cpu
    again = orders_import(path=orders_path)
    return {
        "divisions": divisions.rows,
        "divisions_seconds": divisions.seconds,
        "shops": shops.rows,
        "shops_seconds": shops.seconds,
        "shops_reimport_seconds": shops_again.seconds,
        "shops_reimport_unchanged": shops_again.unchanged,
        "rows": fresh.rows,
        "fresh_seconds": fresh.seconds,
        "fresh_cpu_seconds": round(fresh_cpu, 2),  # this process only, not a database server
        "reimport_seconds": again.seconds,
        "reimport_unchanged": again.unchanged,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def fresh_postgresql(url: str) -> str:
    import psycopg

    base, _, _ = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as server:
        server.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}")
        server.execute(f"CREATE DATABASE {BENCH_DATABASE}")
    return f"{base}/{BENCH_DATABASE}"


def measure(backend: str, database_url: str | None, files: tuple[Path, Path, Path], runs: int):
    results = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="taocun-bench-") as home:
            url = (
                fresh_postgresql(database_url)
                if backend == "postgresql"
                else f"sqlite:///{home}/bench.sqlite3"
            )
            env = os.environ | {"DATABASE_URL": url, "TAOCUN_VAR_DIR": home}
            load = os.getloadavg()[0]  # other work on the machine skews wall-clock times
            done = subprocess.run(
                [sys.executable, __file__, "--child", *map(str, files)],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode:
                sys.exit(done.stderr)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            result["load_average"] = [load, round(os.getloadavg()[0], 2)]
            results.append(result)
            print(f"{backend}: {result}", file=sys.stderr)
    return results


def report(backend: str, results: list[dict], orders_path: Path) -> None:
    fresh = statistics.median(r["fresh_seconds"] for r in results)
    again = statistics.median(r["reimport_seconds"] for r in results)
    rows = results[0]["rows"]
    shops = results[0]["shops"]
    shops_fresh = statistics.median(r["shops_seconds"] for r in results)
    shops_again = statistics.median(r["shops_reimport_seconds"] for r in results)
    every = ", ".join(f"{r['fresh_seconds']:.1f}" for r in results)
    print(
        f"{backend:<10} {orders_path.name}: {rows:,} orders, runs {len(results)}; "
        f"fresh import median {fresh:.1f} s ({rows / fresh:,.0f} rows/s) [{every}], "
        f"process CPU {statistics.median(r['fresh_cpu_seconds'] for r in results):.1f} s; "
        f"re-import (all unchanged) median {again:.1f} s ({rows / again:,.0f} rows/s); "
        f"shops {shops:,}: fresh median {shops_fresh:.2f} s ({shops / shops_fresh:,.0f} rows/s), "
        f"re-import median {shops_again:.2f} s ({shops / shops_again:,.0f} rows/s); "
        f"peak RSS {max(r['peak_rss_mb'] for r in results):.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shops", type=Path, help="a shops file (default: generated)")
    parser.add_argument("--orders", type=Path, help="an orders file (default: generated)")
    parser.add_argument(
        "--divisions",
        type=Path,
        default=DIVISIONS_FILE,
        help="the divisions imported first (default: the demo slice the generated files use)",
    )
    parser.add_argument("--shop-count", type=int, default=20_000)
    parser.add_argument("--order-count", type=int, default=1_000_000)
    parser.add_argument("--format", choices=("csv", "csv.gz", "parquet"), default="csv.gz")
    parser.add_argument("--seed", type=int, default=2016)
    parser.add_argument("--files", type=Path, default=Path(tempfile.gettempdir()) / "taocun-bench")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--child", nargs=3, type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        print(json.dumps(one_run(*options.child)))
        return
    if bool(options.shops) != bool(options.orders):
        parser.error("--shops and --orders go together")
    if options.shops:
        files = (options.divisions, options.shops, options.orders)
    else:
        options.files.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        files = (
            options.divisions,
            *write_files(
                options.files,
                shop_count=options.shop_count,
                order_count=options.order_count,
                seed=options.seed,
                form=options.format,
            ),
        )
        print(f"files ready in {time.perf_counter() - started:.1f} s: {files}", file=sys.stderr)
    database_url = os.environ.get("DATABASE_URL", "")
    backends = [("sqlite", None)]
    if database_url.startswith(("postgres://", "postgresql://")):
        backends.append(("postgresql", database_url))
    for backend, url in backends:
        if options.only in (None, backend):
            report(backend, measure(backend, url, files, options.runs), files[2])


if __name__ == "__main__":
    main()

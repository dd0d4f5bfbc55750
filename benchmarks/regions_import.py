"""Time the divisions import of the full national file (713,034 rows) on a fresh database.

Each run happens in its own process on a database created for it, so the timings include
nothing left over from an earlier run and the peak memory (``ru_maxrss``) is the import's
own. SQLite always; PostgreSQL too when ``DATABASE_URL`` names a PostgreSQL server (a
database ``taocun_bench`` is dropped and created on it for each run).

    .venv/bin/python benchmarks/regions_import.py --runs 3
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/taocun .venv/bin/python \\
        benchmarks/regions_import.py --runs 3

Results go in docs/benchmarks.md. Nothing here asserts a time: machines differ.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NATIONAL_FILE = REPO.parent / "shared" / "data" / "divisions-cn-2016.csv.gz"
BENCH_DATABASE = "taocun_bench"


def one_run(path: Path) -> dict:
    """In the child process: migrate, import twice (fresh, then unchanged), report JSON."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taocun.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from taocun.regions.importing import divisions_import

    call_command("migrate", verbosity=0)
    fresh = divisions_import(path=path)
    again = divisions_import(path=path)
    return {
        "rows": fresh.rows,
        "fresh_seconds": fresh.seconds,
        "reimport_seconds": again.seconds,
        "reimport_unchanged": again.unchanged,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def fresh_postgresql(url: str) -> str:
    """Drop and create the benchmark database on the server ``url`` points at."""
    import psycopg

    base, _, _ = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as server:
        server.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}")
        server.execute(f"CREATE DATABASE {BENCH_DATABASE}")
    return f"{base}/{BENCH_DATABASE}"


def measure(backend: str, database_url: str | None, path: Path, runs: int) -> list[dict]:
    results = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="taocun-bench-") as home:
            url = (
                fresh_postgresql(database_url)
                if backend == "postgresql"
                else f"sqlite:///{home}/bench.sqlite3"
            )
            env = os.environ | {"DATABASE_URL": url, "TAOCUN_VAR_DIR": home}
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, __file__, "--child", str(path)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(done.stdout.strip().splitlines()[-1])
            result["process_seconds"] = round(time.perf_counter() - started, 2)
            results.append(result)
            print(f"{backend}: {result}", file=sys.stderr)
    return results


def report(backend: str, results: list[dict]) -> None:
    fresh = statistics.median(r["fresh_seconds"] for r in results)
    again = statistics.median(r["reimport_seconds"] for r in results)
    rows = results[0]["rows"]
    peak = max(r["peak_rss_mb"] for r in results)
    every = ", ".join(f"{r['fresh_seconds']:.1f}" for r in results)
    print(
        f"{backend:<10} rows {rows:,}  runs {len(results)}  "
        f"fresh import median {fresh:.1f} s ({rows / fresh:,.0f} rows/s)  "
        f"re-import (all unchanged) median {again:.1f} s  "
        f"all runs fresh: {every} s  "
        f"peak RSS {peak:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=NATIONAL_FILE)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        print(json.dumps(one_run(options.file)))
        return
    database_url = os.environ.get("DATABASE_URL", "")
    backends = [("sqlite", None)]
    if database_url.startswith(("postgres://", "postgresql://")):
        backends.append(("postgresql", database_url))
    for backend, url in backends:
        report(backend, measure(backend, url, options.file, options.runs))


if __name__ == "__main__":
    main()

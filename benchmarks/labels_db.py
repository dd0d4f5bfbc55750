"""The label engine on the platform database: a full evaluation over 10 M orders in SQLite
and in PostgreSQL (the goal: under 30 s on SQLite).

Two steps, each a fresh ``taocun`` process on the database that ``DATABASE_URL`` names:

* ``load DIR`` fills the database from a ``taocun synth`` folder through the real imports
  (``migrate``, ``regions import``, ``sales import shops``, ``sales import orders``; then
  ``ANALYZE`` on PostgreSQL), and reports their times (the imports' own benchmark is
  ``benchmarks/sales_import.py``);
* ``bench`` times ``taocun labels evaluate --rules R`` — stored (the results written in one
  transaction) and ``--no-store`` (the engine alone) — under ``/usr/bin/time -v``: the wall
  clock of the whole process and its peak resident memory; the median of ``--runs``.

    export DATABASE_URL=sqlite:////tmp/labels-db/10m.sqlite3
    .venv/bin/python benchmarks/labels_db.py load /tmp/taocun-bench/synth-10000000
    .venv/bin/python benchmarks/labels_db.py bench --rules aliresearch-2019 --runs 3

From Python: ``labels_db_benchmark(database_url=..., rules=..., runs=3)`` returns the same
report as a dict (``benchmarks/README.md``). It asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TAOCUN = str(Path(sys.executable).with_name("taocun"))


def _load_average() -> float:
    """The 1-minute load average: other work on the machine skews wall-clock times."""
    return round(os.getloadavg()[0], 2)


def _run(command: list[str], env: dict[str, str]) -> dict:
    """One process under /usr/bin/time -v: wall seconds, peak RSS (MB), the load average
    when it started and its output."""
    load = _load_average()
    done = subprocess.run(
        ["/usr/bin/time", "-v", *command], capture_output=True, text=True, cwd=ROOT, env=env
    )
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        )
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", done.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    parts = [float(part) for part in wall.group(1).split(":")]
    seconds = sum(part * 60**power for power, part in enumerate(reversed(parts)))
    return {
        "seconds": round(seconds, 2),
        "peak_mb": round(int(rss.group(1)) / 1024),
        "load_average": load,
        "output": done.stdout.strip(),
    }


def _environment(database_url: str) -> dict[str, str]:
    return os.environ | {"DATABASE_URL": database_url, "LANGUAGE": "en"}


def load(*, database_url: str, folder: Path) -> dict:
    """Migrate and import a synth folder into the database; the time of each step."""
    env = _environment(database_url)
    print(f"load average at start: {_load_average()}", file=sys.stderr)
    steps = {"migrate": _run([TAOCUN, "migrate", "-v0"], env)}
    steps["divisions"] = _run(
        [TAOCUN, "regions", "import", str(folder / "divisions.parquet"), "--no-progress"], env
    )
    for kind in ("shops", "orders"):
        for path in sorted((folder / kind).glob("*.parquet")):
            steps[f"{kind}/{path.name}"] = _run(
                [TAOCUN, "sales", "import", kind, str(path), "--no-progress"], env
            )
    if database_url.startswith(("postgres://", "postgresql://")):
        steps["analyze"] = _analyze(database_url)
    return {
        key: {k: v for k, v in step.items() if k != "output"}
        | {"summary": step["output"].splitlines()[:1]}
        for key, step in steps.items()
    }


def _analyze(database_url: str) -> dict:
    """PostgreSQL: ``ANALYZE`` once loaded, as autovacuum would do on its own (it may be
    off, as on the benchmark machine); without statistics the planner guesses the row
    counts of a 10 M-row table. SQLite's query planner needs none."""
    import time

    import psycopg

    started = time.perf_counter()
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("ANALYZE")
    return {"seconds": round(time.perf_counter() - started, 2), "output": ""}


def labels_db_benchmark(*, database_url: str, rules: str, runs: int = 3) -> dict:
    """Time full evaluations of the database: stored, and with ``--no-store``."""
    env = _environment(database_url)
    report: dict = {
        "database": database_url.split("://")[0],
        "rules": rules,
        "runs": runs,
        "load_average_at_start": _load_average(),
    }
    for mode, extra in (("stored", []), ("no_store", ["--no-store"])):
        results = [
            _run(
                [TAOCUN, "labels", "evaluate", "--rules", rules, "--no-progress",
                 "--language", "en", *extra],
                env,
            )
            for _ in range(runs)
        ]  # fmt: skip
        report[mode] = {
            "seconds": [r["seconds"] for r in results],
            "median_s": statistics.median(r["seconds"] for r in results),
            "peak_mb": max(r["peak_mb"] for r in results),
            "load_average": [r["load_average"] for r in results],
            "summary": results[-1]["output"].splitlines()[:2],
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    actions = parser.add_subparsers(dest="action", required=True)
    loading = actions.add_parser("load", help="fill DATABASE_URL from a synth folder")
    loading.add_argument("folder", type=Path)
    benching = actions.add_parser("bench", help="time evaluations of DATABASE_URL")
    benching.add_argument("--rules", default="aliresearch-2019")
    benching.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        raise SystemExit("set DATABASE_URL to the database to fill or evaluate")
    if args.action == "load":
        report = load(database_url=database_url, folder=args.folder)
    else:
        report = labels_db_benchmark(database_url=database_url, rules=args.rules, runs=args.runs)
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()

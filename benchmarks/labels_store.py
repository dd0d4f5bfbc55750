"""The storing step of a stored evaluation alone: ``evaluation_store`` writing one outcome
(666,655 villages, their towns and clusters over the 10 M-order database) into the database
that ``DATABASE_URL`` names, timed apart from the engine.

The outcome is computed once on that database (``evaluation_compute`` with the per-platform
sales, as a stored run does) and kept under ``--cache`` (the village and town tables as
Arrow files, the rest pickled), so that each run times only the write: wall clock, the
process's CPU time (this process does SQLite's work; on PostgreSQL the server's is not in
it), peak resident memory, the load average at its start, and on SQLite the size of the
write-ahead log after the commit (what the transaction wrote). Every run stores a new
evaluation and keeps it, as ``labels_db.py bench`` does.

    export DATABASE_URL=sqlite:////tmp/labels-db/10m.sqlite3
    .venv/bin/python benchmarks/labels_store.py --cache /tmp/labels-store --runs 3

It asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import statistics
import time
from pathlib import Path


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taocun.settings")
    import django

    django.setup()


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _outcome(*, cache: Path, rules_name: str):
    """The evaluation's outcome, computed on the database once and then read from cache."""
    import pyarrow.feather as feather

    from taocun.labels.evaluating import EvaluationOutcome, evaluation_compute
    from taocun.labels.rulesets import rule_set_load
    from taocun.labels.sources import source_opened

    rules = rule_set_load(rules_name)
    rest = cache / f"{rules_name}.pickle"
    if not rest.exists():
        cache.mkdir(parents=True, exist_ok=True)
        with source_opened("db") as source:
            outcome = evaluation_compute(source=source, rules=rules, with_platform_sales=True)
        feather.write_feather(outcome.villages, cache / f"{rules_name}.villages.arrow")
        feather.write_feather(outcome.towns, cache / f"{rules_name}.towns.arrow")
        kept = (outcome.window, outcome.source, outcome.clusters, outcome.platform_sales)
        rest.write_bytes(pickle.dumps(kept))
    window, source, clusters, platform_sales = pickle.loads(rest.read_bytes())
    return EvaluationOutcome(
        rules=rules,
        window=window,
        source=source,
        villages=feather.read_table(cache / f"{rules_name}.villages.arrow"),
        towns=feather.read_table(cache / f"{rules_name}.towns.arrow"),
        clusters=clusters,
        platform_sales=platform_sales,
    )


def labels_store_benchmark(*, cache: Path, rules: str = "aliresearch-2019", runs: int = 3) -> dict:
    """Store the cached outcome ``runs`` times; the time of each write."""
    _setup()
    from django.db import connection

    from taocun.labels.services import evaluation_start, evaluation_store

    outcome = _outcome(cache=cache, rules_name=rules)
    results = []
    for _ in range(runs):
        evaluation = evaluation_start(actor=None, rules=outcome.rules)
        load = round(os.getloadavg()[0], 2)
        cpu, started = _cpu_seconds(), time.perf_counter()
        evaluation_store(actor=None, evaluation=evaluation, outcome=outcome)
        result = {
            "seconds": round(time.perf_counter() - started, 2),
            "cpu_seconds": round(_cpu_seconds() - cpu, 2),
            "load_average": load,
        }
        wal = Path(f"{connection.settings_dict['NAME']}-wal")
        if connection.vendor == "sqlite" and wal.exists():
            result["wal_mb"] = round(wal.stat().st_size / 2**20)
        results.append(result)
        print(json.dumps(result), flush=True)
    return {
        "database": connection.vendor,
        "rules": rules,
        "villages": outcome.villages.num_rows,
        "runs": results,
        "median_s": statistics.median(r["seconds"] for r in results),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, required=True, help="where the outcome is kept")
    parser.add_argument("--rules", default="aliresearch-2019")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("set DATABASE_URL to the database to store into")
    report = labels_store_benchmark(cache=args.cache, rules=args.rules, runs=args.runs)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

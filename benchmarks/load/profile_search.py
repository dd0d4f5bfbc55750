"""Where a search page's time goes: the load test's searches, drawn as the locustfile draws
them, replayed in one process on the load database through Django's test client.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/taocun_load \\
        .venv/bin/python benchmarks/load/profile_search.py \\
        --targets /tmp/taocun-load/targets.json --count 300 --seed 1

Prints the wall time of a search page (p50, p95, mean), the part of it spent in SQL (the
time of every statement, read around the database driver) and the rest (Python: views,
templates), then the slowest requests. ``--sorted`` times instead a fixed list of sorted
searches with words through the selector alone (median and second-slowest of
``--repeat``), the cases of docs/benchmarks.md. Asserts no time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shopping import search_drawn

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taocun.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "profile-" + "x" * 50)

# (words, filters, sort): the sorted searches of docs/benchmarks.md.
SORTED_CASES = [
    ("榴莲", {}, "newest"),
    ("榴莲", {}, "price_asc"),
    ("茶", {"certification": "green_food", "in_stock": True}, "sales"),
    ("大米", {}, "price_desc"),
    ("香菇", {"in_stock": True}, "price_desc"),
    ("枸杞", {"in_stock": True}, "price_asc"),
    ("核桃", {"in_stock": True}, "price_asc"),
    ("土鸡蛋", {"price_min_fen": 500, "price_max_fen": 2000, "in_stock": True}, "sales"),
    ("茶", {}, "sales"),
    ("茶", {}, "newest"),
    ("苹果", {}, "price_asc"),
    ("有机 茶", {}, "price_asc"),
    ("红富士", {}, "price_desc"),
    ("五常大米", {}, "sales"),
    ("猕猴桃", {"in_stock": True}, "rating"),
    ("梨", {"price_max_fen": 2000}, "price_asc"),
]


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def replay(targets: dict, count: int, seed: int, slowest: int) -> None:
    from django.db import connection
    from django.test import Client

    rng = random.Random(seed)
    urls = []
    for _ in range(count):
        _name, params = search_drawn(rng, targets)
        urls.append("/market/search/?" + urlencode(params))
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    for url in urls[:20]:  # warm-up: templates, connections, the first pages read
        client.get(url)
    in_sql = [0.0]

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            in_sql[0] += time.perf_counter() - started

    rows = []
    with connection.execute_wrapper(timed):
        for url in urls:
            in_sql[0] = 0.0
            started = time.perf_counter()
            response = client.get(url)
            wall = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise SystemExit(f"{url}: HTTP {response.status_code}")
            rows.append((wall, in_sql[0] * 1000, unquote(url)))
    walls = [row[0] for row in rows]
    sql = [row[1] for row in rows]
    rest = [row[0] - row[1] for row in rows]
    print(f"{len(rows)} search pages, seed {seed}")
    for label, values in (("wall", walls), ("SQL", sql), ("rest", rest)):
        print(
            f"  {label:5s} p50 {_percentile(values, 0.5):6.1f} ms  p95 "
            f"{_percentile(values, 0.95):6.1f} ms  mean {statistics.mean(values):6.1f} ms"
        )
    print("slowest:")
    for wall, in_sql_ms, url in sorted(rows, reverse=True)[:slowest]:
        print(f"  {wall:6.1f} ms (SQL {in_sql_ms:5.1f})  {url}")


def sorted_searches(repeat: int) -> None:
    from taocun.market import selectors

    for words, filters, sort in SORTED_CASES:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            result = selectors.product_search(query=words, sort=sort, **filters)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        shown = ", ".join(f"{key}={value}" for key, value in filters.items())
        print(
            f"{words} {sort} {shown}: total {result.total}{'+' if result.total_is_capped else ''}"
            f"  median {statistics.median(times):.1f} ms, second-slowest {times[-2]:.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=Path, help="targets.json of run.py (for the replay)")
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--slowest", type=int, default=12)
    parser.add_argument("--sorted", action="store_true", help="time the sorted searches")
    parser.add_argument("--repeat", type=int, default=9)
    options = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").endswith("/taocun_load"):
        raise SystemExit("set DATABASE_URL to the load database (…/taocun_load)")
    import django

    django.setup()
    if options.sorted:
        sorted_searches(options.repeat)
        return
    if options.targets is None:
        raise SystemExit("--targets: the targets.json that run.py wrote")
    targets = json.loads(options.targets.read_text(encoding="utf-8"))
    replay(targets, options.count, options.seed, options.slowest)


if __name__ == "__main__":
    main()

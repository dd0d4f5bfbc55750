"""Where a checkout's time goes: the locustfile's checkout, in one process, on the load
database, through Django's test client (the same URLs, token and signed callback).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/taocun_load TAOCUN_SANDBOX_SECRET=x \\
        .venv/bin/python benchmarks/load/profile_checkout.py \\
        --checkout /tmp/taocun-load-checkout/checkout.json --count 50

Prints, per request kind, the number of queries (``CaptureQueriesContext``) and the wall
and CPU time per request, then the top functions of a cProfile over the whole series
(cumulative). Uses buyers from the end of the prepared list, so it does not share carts
with a locust run that uses the beginning.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import json
import os
import pstats
import random
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taocun.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "profile-" + "x" * 50)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", type=Path, required=True, help="checkout.json of run.py")
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--queries", action="store_true", help="print the SQL of one checkout")
    parser.add_argument("--no-cprofile", action="store_true", help="times without the profiler")
    options = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").endswith("/taocun_load"):
        raise SystemExit("set DATABASE_URL to the load database (…/taocun_load)")

    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from taocun.core.money import Money
    from taocun.payments.providers.sandbox import SandboxProvider

    setup = json.loads(options.checkout.read_text(encoding="utf-8"))
    buyers = setup["buyers"][-10:]
    shops = setup["by_shop"]
    sandbox = SandboxProvider()
    client = Client()
    stats: dict[str, list[tuple[int, float, float]]] = collections.defaultdict(list)
    shown_kinds: set[str] = set()

    def call(kind: str, method: str, url: str, **kwargs):
        with CaptureQueriesContext(connection) as queries:
            wall, cpu = time.perf_counter(), time.process_time()
            response = getattr(client, method)(url, **kwargs)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        stats[kind].append((len(queries), wall * 1000, cpu * 1000))
        if options.queries and kind not in shown_kinds:
            shown_kinds.add(kind)
            print(f"--- {kind}: {len(queries)} queries")
            for query in queries.captured_queries:
                print("   ", query["sql"][:160])
        return response

    def one_checkout(buyer: dict) -> None:
        auth = {"HTTP_AUTHORIZATION": f"Bearer {buyer['token']}"}
        cart = []
        for shop in random.sample(list(shops), random.choice([1, 2])):
            variant = random.choice(shops[shop])
            response = call(
                "cart add",
                "post",
                "/api/v1/orders/cart/lines",
                data={"variant_id": variant, "quantity": 1},
                content_type="application/json",
                **auth,
            )
            if response.status_code == 201:
                cart = [i for g in response.json()["groups"] for i in g["items"]]
        lines = [
            {"variant_id": i["variant_id"], "quantity": i["quantity"], "price_fen": i["price_fen"]}
            for i in cart
        ]
        response = call(
            "place",
            "post",
            "/api/v1/orders/checkouts",
            data={"address_id": buyer["address_id"], "lines": lines},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=f"profile-{uuid.uuid4().hex}",
            **auth,
        )
        if response.status_code != 201:
            print("place:", response.status_code, response.content[:200], file=sys.stderr)
            for line in lines:
                client.delete(f"/api/v1/orders/cart/lines/{line['variant_id']}", **auth)
            return
        placed = response.json()
        fields = sandbox.callback_build(
            intent_id=placed["pay_url"].rstrip("/").rsplit("/", 1)[-1],
            reference=f"orders.checkout:{placed['id']}",
            status="paid",
            amount=Money(placed["total_fen"], "CNY"),
            now=datetime.now(UTC),
        )
        response = call("pay", "post", "/payments/callback/sandbox/", data=fields)
        if response.status_code != 200:
            print("pay:", response.status_code, response.content[:200], file=sys.stderr)

    one_checkout(buyers[0])  # warm up (imports, connections, caches)
    shown_kinds.clear()
    stats.clear()
    profiler = cProfile.Profile()
    started = time.perf_counter()
    if not options.no_cprofile:
        profiler.enable()
    for number in range(options.count):
        one_checkout(buyers[number % len(buyers)])
    profiler.disable()
    elapsed = time.perf_counter() - started
    print(f"{options.count} checkouts in {elapsed:.1f} s, cProfile {not options.no_cprofile}")
    print("| request | n | queries each | wall ms p50 | cpu ms p50 |")
    print("|---|---:|---:|---:|---:|")
    for kind, rows in stats.items():
        q = sorted(r[0] for r in rows)
        w = sorted(r[1] for r in rows)
        c = sorted(r[2] for r in rows)
        print(
            f"| {kind} | {len(rows)} | {q[len(q) // 2]} "
            f"| {w[len(w) // 2]:.1f} | {c[len(c) // 2]:.1f} |"
        )
    if not options.no_cprofile:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(options.top)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()

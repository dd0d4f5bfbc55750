"""The storefront under load: gunicorn on PostgreSQL, locust from a second process.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/taocun \\
        .venv/bin/python benchmarks/load/run.py --products 100000 --duration 120

Steps, each in its own process:

1. **prepare** the PostgreSQL database ``taocun_load`` on the server of ``DATABASE_URL``
   (dropped and created; never ``taocun`` nor a ``test_*`` database): migrate; a real slice
   of the division table (every province, prefecture and county; townships and villages of
   600 counties, 150 of them marked as poverty counties), as ``catalog_search.py`` does;
   ``--service-shops`` household shops opened, filled (products, pack sizes,
   certifications, a photo each) and verified through the market services by real seller
   and program-staff accounts; then the bulk of the catalog, ``--products`` products in
   ``--shops`` verified shops, copied in with the same generator as ``catalog_search.py``
   (names from ~160 real product words, places and pack sizes, search text built as the
   services build it, with their search ranks), 5 % of them certified and most with a photo
   row; VACUUM ANALYZE.
   ``--reuse`` skips this when the database is already there.
2. **serve**: ``taocun collectstatic``, then gunicorn on 127.0.0.1 with ``--workers`` sync
   workers, ``DEBUG=0``, an explicit ``SECRET_KEY`` and ``ALLOWED_HOSTS``, and one
   background worker (``taocun db_worker``: the SMS/e-mail of notifications, on the same
   machine, so its CPU counts).
3. **load**: ``locust --headless`` with ``benchmarks/load/locustfile.py``: ``--users``
   shoppers (home, category pages, product pages, searches in Chinese with filters and
   pagination), spawned at ``--spawn-rate``, statistics reset once all are running, for
   ``--duration`` seconds. ``--think`` sets each shopper's pause between pages (seconds,
   ``MIN,MAX``; ``0`` for none: a saturation test).
4. **report**: p50/p95/p99 and requests/s per page type from locust's CSV statistics, with
   the machine (cores, RAM, ``/proc/loadavg`` at the start and end, versions), into
   ``--out`` as ``summary.json`` and ``summary.md``.

``--scenario checkout``: before serving, buyer accounts (one per locust user, with an API
token and an address; the first through the accounts and orders services, the rest copied
in bulk), a pool of well-stocked packs from ``--pool-shops`` shops and ``--scarce`` packs
set to 1–2 units, into ``checkout.json``; every pack's stock plus what live orders hold is
snapshotted (table ``load_stock_before``); locust runs the ``Buyer`` users (cart, checkout
with an ``Idempotency-Key``, signed sandbox callback; one ``TAOCUN_SANDBOX_SECRET`` for
both processes). After the run: checkouts placed and paid per second, cart → paid
percentiles, refusals by kind, and the verification (no negative stock; for every pack,
stock before = stock now + units in live orders; ``taocun payments check``; SQL sums of
the ledger) in the summary.

The load generator runs on the same machine as the server: both share its cores. Nothing
here asserts a time; results and the commands go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
BIN = Path(sys.executable).parent
DATABASE = "taocun_load"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/taocun"
BATCH = 20_000
CERTIFIED_SHARE = 0.05
PHOTO_SHARE = 0.8
# Page types, in the order of the report; a locust request name starts with its type.
PAGE_TYPES = ("home", "category", "search", "product", "shop", "village", "checkout")


# --- 1. prepare -------------------------------------------------------------------------


def database_url(base_url: str, name: str = DATABASE) -> str:
    if name in {"taocun", "postgres"} or name.startswith("test_"):
        raise SystemExit(f"refusing to use the database {name!r}")
    base, _, _ = base_url.rpartition("/")
    return f"{base}/{name}"


def database_ready(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url) as connection:
            row = connection.execute("SELECT count(*) FROM market_product").fetchone()
            return row[0] > 0
    except psycopg.Error:
        return False


def database_fresh(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    if name != DATABASE:
        raise SystemExit(f"refusing to drop {name!r}")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as server:
        server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        server.execute(f"CREATE DATABASE {name}")


def prepare(products_total: int, shops_total: int, service_shops: int, workdir: Path) -> dict:
    """Runs in the child process whose DATABASE_URL is the load database."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taocun.settings")
    import django

    django.setup()
    sys.path.insert(0, str(HERE.parent))
    import catalog_search as catalog
    from django.core.management import call_command
    from django.db import connection, transaction

    from taocun.accounts.models import Role
    from taocun.accounts.services import role_grant, user_link_household, user_sign_up
    from taocun.demo.market import photo_card
    from taocun.market import search
    from taocun.market.models import Category, Certification, ProductPhoto
    from taocun.market.services import (
        CERTIFICATION_SEARCH_WORDS,
        product_create,
        product_photo_add,
        shop_open,
        shop_shipping_set,
        shop_verify,
    )
    from taocun.regions.importing import divisions_import
    from taocun.regions.models import Division, Household, Level, Poverty

    rng = random.Random(2016)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    divisions_import(path=catalog.load_divisions(workdir, rng))
    villages = list(Division.objects.filter(level=Level.VILLAGE).order_by("code"))
    counties = sorted({v.code[:6] + "000000" for v in villages})
    Division.objects.filter(code__in=rng.sample(counties, catalog.POVERTY_COUNTIES)).update(
        poverty=Poverty.NATIONAL, demo_invented=True
    )
    names = dict(Division.objects.values_list("code", "name"))
    categories = {c.slug: c for c in Category.objects.select_related("parent")}
    kinds = [(slug, word) for slug, words in catalog.KINDS.items() for word in words]
    timings["divisions_s"] = time.perf_counter() - started

    # Shops made through the services, as a seller and a reviewer would.
    step = time.perf_counter()
    staff = user_sign_up(phone="+8613900000000", password=secrets.token_urlsafe(16))
    role_grant(actor=None, user=staff, role=Role.PROGRAM_ADMIN, region=None)
    photos: list[ProductPhoto] = []
    for number in range(service_shops):
        village = rng.choice(villages)
        household = Household.objects.create(village=village, head_name=f"户主S{number}", members=4)
        seller = user_sign_up(phone=f"+86139100{number:05d}", password=secrets.token_urlsafe(16))
        role_grant(actor=None, user=seller, role=Role.SELLER, region=None)
        seller = user_link_household(actor="benchmark", user=seller, household=household)
        shop_words = rng.sample(kinds, 10)
        shop = shop_open(
            actor=seller,
            household=household,
            name=f"{names[village.code][:6]}{number}号农家小店",
            story="自家种的，自家做的。",
            categories=list({categories[slug] for slug, _word in shop_words[:3]}),
        )
        shop_shipping_set(actor=seller, shop=shop, mode="flat", flat_fen=rng.choice([0, 500]))
        colour = (rng.randint(60, 200), rng.randint(60, 200), rng.randint(60, 200))
        for slug, word in shop_words:
            product = product_create(
                actor=seller,
                shop=shop,
                category=categories[slug],
                name=f"{rng.choice(catalog.ADJECTIVES)}{word}",
                description="当季采收，产地直发。",
                harvest_months=sorted(rng.sample(range(1, 13), 3)),
                shelf_life_days=rng.choice([7, 30, 180, 365]),
                certifications=[{"kind": rng.choice(Certification.values), "number": "B-1"}]
                if rng.random() < 0.2
                else [],
                variants=[
                    {
                        "label": label,
                        "weight_g": weight,
                        "price_fen": rng.randint(5, 300) * 100 - 10,
                        "unit": unit,
                        "stock": rng.randint(20, 500),
                    }
                    for label, weight, unit in rng.sample(catalog.LABELS, 2)
                ],
            )
            photos.append(
                product_photo_add(
                    actor=seller, product=product, data=photo_card(title=word, colour=colour)
                )
            )
        shop_verify(actor=staff, shop=shop)
    timings["service_shops_s"] = time.perf_counter() - step

    # The bulk of the catalog, as catalog_search.py loads it.
    step = time.perf_counter()
    shops = catalog.shops_bulk_create(
        rng=rng, villages=villages, names=names, count=shops_total, phone="+86138"
    )
    weights = catalog.kind_weights(rng, kinds)
    places = catalog.PlaceWords(names)
    category_words = catalog.CategoryWords(categories)

    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM market_product")
        first_id = cursor.fetchone()[0] + 1
        cursor.execute("SELECT coalesce(max(id), 0) FROM market_variant")
        first_variant = cursor.fetchone()[0] + 1
    columns = (
        "id, created_at, updated_at, shop_id, category_id, category_root_id, name, description, "
        "origin_village_id, origin_county_id, province_code, harvest_months, status, "
        "is_listed, price_min_fen, price_max_fen, in_stock, search_text, sold_count, "
        "rating_sum, rating_count, rating_avg_centi, search_rank"
    )
    variant_columns = (
        "id, created_at, updated_at, product_id, label, sku, unit, weight_g, price_fen, "
        "stock, is_active, position"
    )
    certification_columns = "created_at, updated_at, product_id, kind, number"
    photo_columns = "created_at, updated_at, product_id, image, thumbnail, width, height, position"

    def rows(start: int, count: int):
        for product_id in range(start, start + count):
            shop = shops[rng.randrange(len(shops))]
            slug, word = rng.choices(kinds, weights)[0]
            category = categories[slug]
            county = names.get(shop.county_id, "")
            place = county.rstrip("县市区") if rng.random() < 0.5 else ""
            name = f"{rng.choice(catalog.ADJECTIVES)}{place}{word} {rng.choice(catalog.PACKS)}"
            name = name.strip()[:60]
            price = rng.randint(5, 300) * 100 - rng.choice([0, 10, 1])
            stock = 0 if rng.random() < 0.08 else rng.randint(1, 500)
            sold = int(rng.paretovariate(1.5)) - 1
            ratings = rng.randint(0, 20)
            stars = ratings * rng.randint(3, 5)
            average = stars * 100 // ratings if ratings else 0
            kind = rng.choice(Certification.values) if rng.random() < CERTIFIED_SHARE else None
            text = search.normalize_text(
                " ".join(
                    [
                        name,
                        *category_words(category),
                        *([CERTIFICATION_SEARCH_WORDS[kind]] if kind else []),
                        *places(shop.village_id),
                        shop.name,
                    ]
                )
            )
            created = datetime.fromtimestamp(1_700_000_000 + product_id * 30, UTC)
            label, weight, unit = rng.choice(catalog.LABELS)
            product = (
                product_id,
                created,
                created,
                shop.pk,
                category.pk,
                category.parent_id or category.pk,
                name,
                "",
                shop.village_id,
                shop.county_id,
                shop.province_code,
                rng.choice([0, 0, 1 << rng.randrange(12)]),
                "active",
                True,
                price,
                price,
                stock > 0,
                text,
                sold,
                stars,
                ratings,
                average,
                catalog.search_rank_of(
                    sold=sold, ratings=ratings, rating_avg_centi=average, name=name
                ),
            )
            variant_id = first_variant + product_id - first_id
            variant = (
                variant_id,
                created,
                created,
                product_id,
                label,
                f"P{product_id}",
                unit,
                weight,
                price,
                stock,
                True,
                0,
            )
            certification = (created, created, product_id, kind, f"C{product_id}") if kind else None
            photo = None
            if photos and rng.random() < PHOTO_SHARE:
                shared = rng.choice(photos)  # the files exist; many products point at them
                photo = (
                    created,
                    created,
                    product_id,
                    shared.image.name,
                    shared.thumbnail.name,
                    shared.width,
                    shared.height,
                    0,
                )
            yield product, variant, certification, photo

    with connection.cursor() as cursor:
        # The foreign-key checks run at each batch's COMMIT through plans PostgreSQL keeps
        # per connection, made when market_product held only the service shops' products:
        # a sequential scan per checked row, which grew quadratically (a fresh
        # 100,000-product catalog spent most of 25 minutes in COMMIT). ANALYZE invalidates
        # those plans; made again without sequential scans, they use the primary key.
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("ANALYZE market_product")
        for start in range(first_id, first_id + products_total, BATCH):
            count = min(BATCH, first_id + products_total - start)
            batch = list(rows(start, count))
            with transaction.atomic():
                for table, names_, index in (
                    ("market_product", columns, 0),
                    ("market_variant", variant_columns, 1),
                    ("market_productcertification", certification_columns, 2),
                    ("market_productphoto", photo_columns, 3),
                ):
                    data = [row[index] for row in batch if row[index] is not None]
                    with cursor.cursor.copy(f"COPY {table} ({names_}) FROM STDIN") as copy:
                        for row in data:
                            copy.write_row(row)
            print(f"  {start + count - first_id:,} products", file=sys.stderr, end="\r")
        cursor.execute("RESET enable_seqscan")
        for table in ("market_product", "market_variant"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
    # The ranks were copied in as the database computes them: this only checks them (a
    # mismatch would be recomputed) and writes nothing else on PostgreSQL.
    search.search_index_rebuild()
    with connection.cursor() as cursor:
        # VACUUM too, so that the rank index is read without the table (the visibility map).
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("SELECT pg_database_size(current_database())")
        size_mb = round(cursor.fetchone()[0] / 1e6)
    timings["bulk_s"] = time.perf_counter() - step
    timings["total_s"] = time.perf_counter() - started
    return {
        "products": products_total + service_shops * 10,
        "shops": shops_total + service_shops,
        "database_mb": size_mb,
        "timings": {k: round(v, 1) for k, v in timings.items()},
    }


# --- 1b. prepare the checkout scenario -------------------------------------------------

BUYER_PHONE_PREFIX = "+86137"
STOCK_TABLE = "load_stock_before"


def prepare_checkout(buyers: int, pool_shops: int, scarce: int, path: Path) -> dict:
    """Runs in the child process whose DATABASE_URL is the load database: buyer accounts
    with an API token and a default address each, the pool of packs they buy, and a few
    packs given 1–2 units so that buyers race for the last ones. Written to ``path`` (the
    raw tokens: the load database is throwaway)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taocun.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from taocun.accounts.models import ApiToken, Role, RoleGrant, User
    from taocun.accounts.services import api_token_create, token_digest, user_sign_up
    from taocun.market.models import Variant
    from taocun.orders.models import Address
    from taocun.orders.services import address_create

    call_command("migrate", verbosity=0)  # --reuse of a database made before orders existed
    rng = random.Random()
    base = User.objects.filter(phone__startswith=BUYER_PHONE_PREFIX).count()
    phones = [f"{BUYER_PHONE_PREFIX}{base + i:08d}" for i in range(buyers)]
    address = {
        "recipient": "王芳",
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "detail": "文三路 90 号 3 幢 201",
    }
    # The first buyer through the services, as the sign-up page and the API make one.
    first = user_sign_up(phone=phones[0], password=secrets.token_urlsafe(16))
    _token, first_raw = api_token_create(user=first, name="load test")
    first_address = address_create(buyer=first, phone=phones[0], **address)
    # The others copied from it in bulk (the same password hash, role, token shape and
    # address; no audit rows): hashing a password per account would take minutes.
    raws = [first_raw] + [f"tc_{secrets.token_urlsafe(32)}" for _ in phones[1:]]
    with transaction.atomic():
        users = [
            first,
            *User.objects.bulk_create(
                User(phone=phone, password=first.password) for phone in phones[1:]
            ),
        ]
        RoleGrant.objects.bulk_create(RoleGrant(user=u, role=Role.BUYER) for u in users[1:])
        ApiToken.objects.bulk_create(
            ApiToken(user=u, name="load test", digest=token_digest(raw), prefix=raw[:8])
            for u, raw in zip(users[1:], raws[1:], strict=True)
        )
        addresses = [
            first_address,
            *Address.objects.bulk_create(
                Address(buyer=u, phone=u.phone, is_default=True, **address) for u in users[1:]
            ),
        ]

    # The pool: up to 8 well-stocked packs of each of ``pool_shops`` verified shops with a
    # seller account; the scarce packs come from other shops.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT v.id, p.shop_id FROM market_variant v
            JOIN market_product p ON p.id = v.product_id
            JOIN market_shop s ON s.id = p.shop_id
            WHERE v.is_active AND p.is_listed AND s.status = 'verified'
              AND s.opened_by_id IS NOT NULL AND v.stock >= 100
            """
        )
        rows = cursor.fetchall()
    by_shop: dict[int, list[int]] = {}
    for variant_id, shop_id in rows:
        by_shop.setdefault(shop_id, []).append(variant_id)
    shops = rng.sample(sorted(s for s, v in by_shop.items() if len(v) >= 2), pool_shops)
    pool = {shop: rng.sample(by_shop[shop], min(8, len(by_shop[shop]))) for shop in shops}
    others = sorted(v for s, vs in by_shop.items() if s not in pool for v in vs)
    scarce_ids = rng.sample(others, scarce)
    for variant in Variant.objects.filter(pk__in=scarce_ids):
        variant.stock = rng.randint(1, 2)
        variant.save(update_fields=["stock"])
    found = {
        "buyers": [
            {"phone": u.phone, "token": raw, "address_id": a.pk}
            for u, raw, a in zip(users, raws, addresses, strict=True)
        ],
        "by_shop": {str(shop): variants for shop, variants in pool.items()},
        "scarce": scarce_ids,
        "scarce_share": 0.3,
    }
    path.write_text(json.dumps(found), encoding="utf-8")
    return {
        "buyers": len(users),
        "pool_shops": len(pool),
        "pool_packs": sum(len(v) for v in pool.values()),
        "scarce_packs": len(scarce_ids),
        "scarce_units": sum(
            Variant.objects.filter(pk__in=scarce_ids).values_list("stock", flat=True)
        ),
    }


# Quantities held by live orders: every order that has not given its stock back.
# (``stock_released`` is set when a cancel or a refund before shipment returns the units;
# the check also compares with the statuses.)
HELD_SQL = """
    SELECT l.variant_id, sum(l.quantity) AS held FROM orders_orderline l
    JOIN orders_order o ON o.id = l.order_id
    WHERE o.status NOT IN ('cancelled', 'refunded') GROUP BY l.variant_id
"""


def stock_snapshot(url: str) -> None:
    """Before the load: every pack's stock plus what live orders already hold."""
    import psycopg

    with psycopg.connect(url) as connection:
        connection.execute(f"DROP TABLE IF EXISTS {STOCK_TABLE}")
        connection.execute(
            f"CREATE TABLE {STOCK_TABLE} AS SELECT v.id, v.stock + coalesce(h.held, 0) AS units "
            f"FROM market_variant v LEFT JOIN ({HELD_SQL}) h ON h.variant_id = v.id"
        )
        connection.execute("CREATE TABLE IF NOT EXISTS load_run_mark (started_at timestamptz)")
        connection.execute("DELETE FROM load_run_mark")
        connection.execute("INSERT INTO load_run_mark VALUES (now())")


def verify(url: str, env: dict) -> dict:
    """After the load, on the load database: no negative stock; for every pack, the units
    before = stock now + units held by live orders (no oversell, nothing lost); the
    statuses and the stock_released flags agree; the ledger (``taocun payments check``)."""
    import psycopg

    with psycopg.connect(url) as connection:

        def one(sql: str) -> int:
            return int(connection.execute(sql).fetchone()[0])

        result = {
            "negative_stock_packs": one("SELECT count(*) FROM market_variant WHERE stock < 0"),
            "packs_compared": one(f"SELECT count(*) FROM {STOCK_TABLE}"),
            "packs_sold_during_run": one(
                f"SELECT count(*) FROM {STOCK_TABLE} b JOIN market_variant v ON v.id = b.id "
                "WHERE v.stock <> b.units"
            ),
            "stock_mismatches": one(
                f"SELECT count(*) FROM {STOCK_TABLE} b JOIN market_variant v ON v.id = b.id "
                f"LEFT JOIN ({HELD_SQL}) h ON h.variant_id = v.id "
                "WHERE b.units <> v.stock + coalesce(h.held, 0)"
            ),
            "packs_sold_out_during_run": one(
                f"SELECT count(*) FROM {STOCK_TABLE} b JOIN market_variant v ON v.id = b.id "
                "WHERE v.stock = 0 AND b.units > 0"
            ),
            "live_orders_with_stock_released": one(
                "SELECT count(*) FROM orders_order WHERE stock_released "
                "AND status NOT IN ('cancelled', 'refunded')"
            ),
            "dead_orders_holding_stock": one(
                "SELECT count(*) FROM orders_order WHERE NOT stock_released "
                "AND status IN ('cancelled')"
            ),
            "checkouts_by_status": dict(
                connection.execute(
                    "SELECT status, count(*) FROM orders_checkout c, load_run_mark m "
                    "WHERE c.created_at >= m.started_at GROUP BY 1 ORDER BY 1"
                ).fetchall()
            ),
            "orders_by_status": dict(
                connection.execute(
                    "SELECT status, count(*) FROM orders_order o, load_run_mark m "
                    "WHERE o.created_at >= m.started_at GROUP BY 1 ORDER BY 1"
                ).fetchall()
            ),
            "intents_by_status": dict(
                connection.execute(
                    "SELECT status, count(*) FROM payments_paymentintent i, load_run_mark m "
                    "WHERE i.created_at >= m.started_at GROUP BY 1 ORDER BY 1"
                ).fetchall()
            ),
            "unbalanced_transactions": one(
                "SELECT count(*) FROM (SELECT transaction_id FROM payments_ledgerentry "
                "GROUP BY 1 HAVING sum(amount_fen) <> 0) t"
            ),
            "ledger_sum_fen": one("SELECT coalesce(sum(amount_fen), 0) FROM payments_ledgerentry"),
            "escrow_held_fen": one(
                "SELECT coalesce(sum(e.amount_fen), 0) FROM payments_ledgerentry e "
                "JOIN payments_ledgeraccount a ON a.id = e.account_id WHERE a.kind = 'escrow'"
            ),
            "paid_orders_total_fen": one(
                "SELECT coalesce(sum(total_fen - refunded_fen), 0) FROM orders_order "
                "WHERE status NOT IN ('placed', 'cancelled', 'refunded', 'completed')"
            ),
        }
    check = subprocess.run(
        [str(BIN / "taocun"), "payments", "check"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    result["payments_check_exit"] = check.returncode
    result["payments_check_output"] = (check.stdout + check.stderr).strip().splitlines()[-12:]
    result["ok"] = (
        result["negative_stock_packs"] == 0
        and result["stock_mismatches"] == 0
        and result["unbalanced_transactions"] == 0
        and result["payments_check_exit"] == 0
    )
    return result


def targets(url: str, path: Path) -> dict:
    """What the shoppers visit, read from the load database: listed product ids, category
    slugs, shop ids, village codes and provinces that have products."""
    import psycopg

    with psycopg.connect(url) as connection:

        def column(sql: str) -> list:
            return [row[0] for row in connection.execute(sql).fetchall()]

        found = {
            "product_id_min": connection.execute(
                "SELECT min(id) FROM market_product WHERE is_listed"
            ).fetchone()[0],
            "product_id_max": connection.execute(
                "SELECT max(id) FROM market_product WHERE is_listed"
            ).fetchone()[0],
            "categories": column(
                "SELECT slug FROM market_category c WHERE is_active AND EXISTS "
                "(SELECT 1 FROM market_product p WHERE p.is_listed AND "
                "(p.category_id = c.id OR p.category_root_id = c.id)) ORDER BY slug"
            ),
            "shops": column(
                "SELECT id FROM market_shop WHERE status = 'verified' ORDER BY random() LIMIT 500"
            ),
            "villages": column(
                "SELECT DISTINCT origin_village_id FROM market_product WHERE is_listed "
                "ORDER BY 1 LIMIT 500"
            ),
            "provinces": column(
                "SELECT DISTINCT province_code FROM market_product WHERE is_listed ORDER BY 1"
            ),
        }
    path.write_text(json.dumps(found, ensure_ascii=False, indent=1), encoding="utf-8")
    return found


# --- 2. serve ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(env: dict, workers: int, port: int, log: Path) -> subprocess.Popen:
    subprocess.run([str(BIN / "taocun"), "collectstatic", "--noinput", "-v0"], env=env, check=True)
    server = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "taocun.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--timeout",
            "60",
            "--error-logfile",
            str(log),
        ],
        env=env,
        start_new_session=True,
        # The console SMS/e-mail backends print every notification: keep them out of the way.
        stdout=log.with_suffix(".stdout.log").open("w"),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/market/", timeout=10) as page:
                if page.status == 200:
                    return server
        except OSError:
            time.sleep(0.5)
    server.terminate()
    raise SystemExit(f"gunicorn did not answer on port {port}; see {log}")


# --- 3. load and 4. report --------------------------------------------------------------


def machine() -> dict:
    import django
    import gunicorn
    import locust
    import psycopg

    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    with psycopg.connect(database_url(os.environ.get("DATABASE_URL") or DEFAULT_URL)) as c:
        server_version = c.execute("SHOW server_version").fetchone()[0]
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "ram_gb": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "django": django.get_version(),
        "gunicorn": gunicorn.__version__,
        "locust": locust.__version__,
        "psycopg": psycopg.__version__,
        "postgresql": server_version,
    }


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def summarise(stats_csv: Path) -> list[dict]:
    """One row per request name and per page type (all its names), and the total."""
    with stats_csv.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))

    def row(name: str, source: dict) -> dict:
        return {
            "page": name,
            "requests": int(source["Request Count"]),
            "failures": int(source["Failure Count"]),
            "rps": round(float(source["Requests/s"]), 1),
            "p50_ms": float(source["50%"]),
            "p95_ms": float(source["95%"]),
            "p99_ms": float(source["99%"]),
            "max_ms": round(float(source["Max Response Time"])),
            "kb": round(float(source["Average Content Size"]) / 1024, 1),
        }

    return [row(r["Name"], r) for r in rows if r["Name"] != "Aggregated"] + [
        row("all pages", r) for r in rows if r["Name"] == "Aggregated"
    ]


def page_type_rows(times_file: Path) -> list[dict]:
    """Per page type (all its request names together): locust's CSV has percentiles per
    name only, so these come from the raw response times the locustfile writes."""
    if not times_file.exists():
        return []
    recorded = json.loads(times_file.read_text(encoding="utf-8"))
    duration = recorded["duration_s"] or 1
    out = []
    everything = [t for times in recorded["times_ms"].values() for t in times]
    for page in (*PAGE_TYPES, "all pages"):
        values = sorted(recorded["times_ms"].get(page, everything if page == "all pages" else []))
        if not values:
            continue

        def pick(q: float, values: list[float] = values) -> float:
            return round(values[min(len(values) - 1, int(q * len(values)))], 1)

        out.append(
            {
                "page": page,
                "requests": len(values),
                "rps": round(len(values) / duration, 1),
                "p50_ms": pick(0.50),
                "p95_ms": pick(0.95),
                "p99_ms": pick(0.99),
                "max_ms": round(values[-1]),
            }
        )
    return out


def checkout_rows(times_file: Path) -> dict:
    """Whole checkouts after the ramp-up, from the outcomes the locustfile counts: placed and
    paid per second, the time from the first cart request to the paid callback, and every
    other outcome by kind (out of stock is expected; anything else is a failure)."""
    if not times_file.exists():
        return {}
    recorded = json.loads(times_file.read_text(encoding="utf-8"))
    outcomes = recorded.get("checkout_outcomes") or {}
    if not outcomes:
        return {}
    duration = recorded["duration_s"] or 1
    flow = sorted(recorded.get("checkout_flow_ms") or [])

    def pick(q: float) -> float | None:
        return round(flow[min(len(flow) - 1, int(q * len(flow)))], 1) if flow else None

    expected = ("placed", "paid")
    return {
        "duration_s": round(duration, 1),
        "placed": outcomes.get("placed", 0),
        "paid": outcomes.get("paid", 0),
        "placed_per_s": round(outcomes.get("placed", 0) / duration, 1),
        "paid_per_s": round(outcomes.get("paid", 0) / duration, 1),
        "flow_p50_ms": pick(0.50),
        "flow_p95_ms": pick(0.95),
        "flow_p99_ms": pick(0.99),
        "expected_refusals": {k: v for k, v in outcomes.items() if "(expected)" in k},
        "other": {k: v for k, v in outcomes.items() if k not in expected and "(expected)" not in k},
    }


def markdown(result: dict) -> str:
    lines = [
        f"Storefront under load — {result['started']}",
        "",
        f"machine: {result['machine']}",
        f"catalog: {result['catalog']}",
        f"config: {result['config']}",
        f"loadavg at start: {result['loadavg_start']}; at the end: {result['loadavg_end']}",
        "",
        "| page type | requests | req/s | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["page_types"]:
        lines.append(
            f"| {r['page']} | {r['requests']:,} | {r['rps']} | {r['p50_ms']} | {r['p95_ms']} "
            f"| {r['p99_ms']} | {r['max_ms']} |"
        )
    lines += [
        "",
        "| request (locust name) | requests | failures | req/s | p50 | p95 | p99 | max | KB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["requests"]:
        lines.append(
            f"| {r['page']} | {r['requests']:,} | {r['failures']} | {r['rps']} | {r['p50_ms']} "
            f"| {r['p95_ms']} | {r['p99_ms']} | {r['max_ms']} | {r['kb']} |"
        )
    checkouts = result.get("checkouts") or {}
    if checkouts:
        lines += [
            "",
            f"checkouts over {checkouts['duration_s']} s: {checkouts['placed']:,} placed "
            f"({checkouts['placed_per_s']}/s), {checkouts['paid']:,} paid "
            f"({checkouts['paid_per_s']}/s); cart → paid p50 {checkouts['flow_p50_ms']} ms, "
            f"p95 {checkouts['flow_p95_ms']} ms, p99 {checkouts['flow_p99_ms']} ms",
            f"expected refusals: {checkouts['expected_refusals']}",
            f"other outcomes (failures): {checkouts['other'] or 'none'}",
        ]
    verification = result.get("verification") or {}
    if verification:
        lines += ["", "verification after the run:"]
        lines += [f"- {key}: {value}" for key, value in verification.items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--shops", type=int, default=5_000)
    parser.add_argument("--service-shops", type=int, default=20, help="10 products each")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep taocun_load if it is there (with the catalog.json its preparing run wrote "
        "into --out)",
    )
    parser.add_argument("--prepare-only", action="store_true")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--duration", type=int, default=120, help="seconds, after ramp-up")
    parser.add_argument("--think", default="1,3", help="MIN,MAX seconds between pages; 0: none")
    parser.add_argument("--out", type=Path, default=Path("/tmp/taocun-load"))
    parser.add_argument(
        "--scenario",
        choices=["browse", "checkout"],
        default="browse",
        help="browse: the Shopper users; checkout: Buyer users that only check out and pay",
    )
    parser.add_argument(
        "--checkout-weight",
        type=int,
        default=0,
        help="browse scenario: weight of a checkout among the shoppers' pages (sum 22)",
    )
    parser.add_argument("--pool-shops", type=int, default=200, help="shops buyers buy from")
    parser.add_argument("--scarce", type=int, default=20, help="packs given 1–2 units")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-checkout", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()

    url = database_url(os.environ.get("DATABASE_URL") or DEFAULT_URL)
    options.out.mkdir(parents=True, exist_ok=True)
    var_dir = options.out / "var"
    env = os.environ | {
        "DATABASE_URL": url,
        "TAOCUN_VAR_DIR": str(var_dir),
        "DJANGO_SETTINGS_MODULE": "taocun.settings",
    }
    if options.child:
        result = prepare(options.products, options.shops, options.service_shops, options.out)
        print(json.dumps(result))
        return
    if options.child_checkout:
        result = prepare_checkout(
            options.users, options.pool_shops, options.scarce, options.child_checkout
        )
        print(json.dumps(result))
        return
    buying = options.scenario == "checkout" or options.checkout_weight > 0

    catalog_file = options.out / "catalog.json"
    ready = options.reuse and database_ready(url)
    if ready and not catalog_file.exists():
        # Rebuilding here would throw away a catalog that may have taken ten minutes.
        raise SystemExit(
            f"--reuse: {DATABASE} is there but {catalog_file} is not; pass the --out of "
            "the run that prepared it, or leave out --reuse to prepare a new catalog"
        )
    if not ready:
        database_fresh(url)
        print(f"preparing {url} …", file=sys.stderr)
        done = subprocess.run(
            [sys.executable, __file__, *sys.argv[1:], "--child"],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )
        catalog_file.write_text(done.stdout.strip().splitlines()[-1], encoding="utf-8")
    catalog = json.loads(catalog_file.read_text(encoding="utf-8"))
    print(f"catalog: {catalog}", file=sys.stderr)
    targets_file = options.out / "targets.json"
    targets(url, targets_file)
    checkout_file = options.out / "checkout.json"
    checkout_setup: dict = {}
    if buying:
        done = subprocess.run(
            [sys.executable, __file__, *sys.argv[1:], "--child-checkout", str(checkout_file)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )
        checkout_setup = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"checkout: {checkout_setup}", file=sys.stderr)
    if options.prepare_only:
        return

    port = free_port()
    serve_env = env | {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # The same sandbox secret for the server and for locust, which signs the callbacks.
        "TAOCUN_SANDBOX_SECRET": secrets.token_urlsafe(32),
    }
    server = serve(serve_env, options.workers, port, options.out / "gunicorn.log")
    worker = subprocess.Popen(
        [str(BIN / "taocun"), "db_worker"],
        env=serve_env,
        start_new_session=True,
        stdout=(options.out / "worker.stdout.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    started = datetime.now(UTC).isoformat(timespec="seconds")
    load_start = loadavg()
    times_file = options.out / "times.json"
    times_file.unlink(missing_ok=True)
    if buying:
        stock_snapshot(url)
    try:
        prefix = options.out / "locust"
        subprocess.run(
            [
                str(BIN / "locust"),
                "-f",
                str(HERE / "locustfile.py"),
                "--headless",
                "--host",
                f"http://127.0.0.1:{port}",
                "--users",
                str(options.users),
                "--spawn-rate",
                str(options.spawn_rate),
                "--run-time",
                f"{options.duration + int(options.users / options.spawn_rate) + 1}s",
                "--reset-stats",
                "--csv",
                str(prefix),
                "--only-summary",
                "--loglevel",
                "WARNING",
                "Buyer" if options.scenario == "checkout" else "Shopper",
            ],
            env=os.environ
            | {
                "TAOCUN_LOAD_TARGETS": str(targets_file),
                "TAOCUN_LOAD_THINK": options.think,
                "TAOCUN_LOAD_TIMES": str(times_file),
                "TAOCUN_LOAD_CHECKOUT": str(checkout_file) if buying else "",
                "TAOCUN_LOAD_CHECKOUT_WEIGHT": str(options.checkout_weight),
                "TAOCUN_SANDBOX_SECRET": serve_env["TAOCUN_SANDBOX_SECRET"],
            },
            check=False,
        )
    finally:
        load_end = loadavg()
        for process in (server, worker):
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
    verification = verify(url, serve_env) if buying else {}
    per_name = summarise(Path(f"{prefix}_stats.csv"))
    result = {
        "started": started,
        "machine": machine(),
        "catalog": catalog,
        "config": {
            "workers": options.workers,
            "users": options.users,
            "spawn_rate": options.spawn_rate,
            "duration_s": options.duration,
            "think_s": options.think,
            "scenario": options.scenario,
            "checkout_weight": options.checkout_weight,
            "checkout_setup": checkout_setup,
        },
        "loadavg_start": load_start,
        "loadavg_end": load_end,
        "page_types": page_type_rows(times_file),
        "requests": per_name,
        "checkouts": checkout_rows(times_file),
        "verification": verification,
    }
    (options.out / "summary.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    text = markdown(result)
    (options.out / "summary.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()

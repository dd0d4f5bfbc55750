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
   services build it), 5 % of them certified and most with a photo row; ANALYZE.
   ``--reuse`` skips this when the database is already there.
2. **serve**: ``taocun collectstatic``, then gunicorn on 127.0.0.1 with ``--workers`` sync
   workers, ``DEBUG=0``, an explicit ``SECRET_KEY`` and ``ALLOWED_HOSTS``.
3. **load**: ``locust --headless`` with ``benchmarks/load/locustfile.py``: ``--users``
   shoppers (home, category pages, product pages, searches in Chinese with filters and
   pagination), spawned at ``--spawn-rate``, statistics reset once all are running, for
   ``--duration`` seconds. ``--think`` sets each shopper's pause between pages (seconds,
   ``MIN,MAX``; ``0`` for none: a saturation test).
4. **report**: p50/p95/p99 and requests/s per page type from locust's CSV statistics, with
   the machine (cores, RAM, ``/proc/loadavg`` at the start and end, versions), into
   ``--out`` as ``summary.json`` and ``summary.md``.

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
PAGE_TYPES = ("home", "category", "search", "product", "shop", "village")


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

    from taocun.accounts.models import Role, User
    from taocun.accounts.services import role_grant, user_link_household, user_sign_up
    from taocun.demo.market import photo_card
    from taocun.market import search
    from taocun.market.models import Category, Certification, ProductPhoto, Shop, ShopStatus
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
    now = datetime.now(UTC)
    with transaction.atomic():
        households = Household.objects.bulk_create(
            Household(village=rng.choice(villages), head_name=f"户主{i}", members=4)
            for i in range(shops_total)
        )
        users = User.objects.bulk_create(
            User(phone=f"+86138{i:08d}", password="!", household=h)
            for i, h in enumerate(households)
        )
        shops = Shop.objects.bulk_create(
            Shop(
                household=h,
                opened_by=u,
                name=f"{names[h.village_id][:4]}{i}号农家店",
                village=h.village,
                county_id=h.village_id[:6] + "000000",
                province_code=h.village_id[:2],
                status=ShopStatus.VERIFIED,
                verified_at=now,
            )
            for i, (h, u) in enumerate(zip(households, users, strict=True))
        )
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(kinds))]
    rng.shuffle(weights)
    place_cache: dict[str, list[str]] = {}

    def places(village: str) -> list[str]:
        if village not in place_cache:
            codes = sorted({village[:n].ljust(12, "0") for n in (2, 4, 6, 9)})
            place_cache[village] = [names[c] for c in codes if c in names] + [names[village]]
        return place_cache[village]

    def category_words(category) -> list[str]:
        words = [category.name_zh_hans, category.name_en, category.name_fr]
        if category.parent_id:
            parent = categories[category.parent.slug]
            words += [parent.name_zh_hans, parent.name_en, parent.name_fr]
        return words

    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM market_product")
        first_id = cursor.fetchone()[0] + 1
        cursor.execute("SELECT coalesce(max(id), 0) FROM market_variant")
        first_variant = cursor.fetchone()[0] + 1
    columns = (
        "id, created_at, updated_at, shop_id, category_id, category_root_id, name, description, "
        "origin_village_id, origin_county_id, province_code, harvest_months, status, "
        "is_listed, price_min_fen, price_max_fen, in_stock, search_text, sold_count, "
        "rating_sum, rating_count, rating_avg_centi"
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
                stars * 100 // ratings if ratings else 0,
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
        for table in ("market_product", "market_variant"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        cursor.execute("ANALYZE")
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
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--shops", type=int, default=5_000)
    parser.add_argument("--service-shops", type=int, default=20, help="10 products each")
    parser.add_argument("--reuse", action="store_true", help="keep taocun_load if it is there")
    parser.add_argument("--prepare-only", action="store_true")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--duration", type=int, default=120, help="seconds, after ramp-up")
    parser.add_argument("--think", default="1,3", help="MIN,MAX seconds between pages; 0: none")
    parser.add_argument("--out", type=Path, default=Path("/tmp/taocun-load"))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
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

    catalog_file = options.out / "catalog.json"
    if not (options.reuse and database_ready(url) and catalog_file.exists()):
        database_fresh(url)
        print(f"preparing {url} …", file=sys.stderr)
        done = subprocess.run(
            [sys.executable, __file__, "--child", *sys.argv[1:]],
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
    if options.prepare_only:
        return

    port = free_port()
    serve_env = env | {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    server = serve(serve_env, options.workers, port, options.out / "gunicorn.log")
    started = datetime.now(UTC).isoformat(timespec="seconds")
    load_start = loadavg()
    times_file = options.out / "times.json"
    times_file.unlink(missing_ok=True)
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
            ],
            env=os.environ
            | {
                "TAOCUN_LOAD_TARGETS": str(targets_file),
                "TAOCUN_LOAD_THINK": options.think,
                "TAOCUN_LOAD_TIMES": str(times_file),
            },
            check=False,
        )
    finally:
        load_end = loadavg()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
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
        },
        "loadavg_start": load_start,
        "loadavg_end": load_end,
        "page_types": page_type_rows(times_file),
        "requests": per_name,
    }
    (options.out / "summary.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    text = markdown(result)
    (options.out / "summary.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()

"""Time catalog search and listing queries on a million products, on SQLite and PostgreSQL.

Each backend runs in its own process on a database created for it: migrate; import a real
slice of the division table (every province, prefecture and county of the national file,
plus townships and villages of 600 counties, 150 of them marked as poverty counties for the
run); create 20,000 verified household shops; bulk-insert the products (one variant each)
with names drawn from ~160 real product words, place names and pack sizes, their search
text built exactly as the services build it; build the search index (timed on its own:
on PostgreSQL the trigram index and the index of characters and pairs are dropped before
the load and created after it); then time each query through
``market.selectors.product_search`` — what the pages and the API call — and report p50/p95
over ``--runs`` repetitions after warm-up, with how each search term was answered
(``path``).

    .venv/bin/python benchmarks/catalog_search.py --backend sqlite      # SQLite only
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python benchmarks/catalog_search.py --runs 30        # SQLite and PostgreSQL

PostgreSQL: only the server of ``DATABASE_URL`` is used; a database ``taocun_search_bench``
is dropped and created on it (and left for EXPLAIN; drop it when done).
Results go in docs/benchmarks.md. Nothing here asserts a time: machines differ.
"""

import argparse
import csv
import gzip
import io
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NATIONAL_FILE = REPO.parent / "shared" / "data" / "divisions-cn-2016.csv.gz"
BENCH_DATABASE = "taocun_search_bench"
SHOPS = 20_000
COUNTIES = 600
POVERTY_COUNTIES = 150
VILLAGES_PER_COUNTY = 6
BATCH = 20_000

# Product words by category slug (real farm products and rural specialties).
KINDS = {
    "apples": ["红富士苹果", "冰糖心苹果", "嘎啦苹果", "黄元帅苹果", "花牛苹果"],
    "citrus": ["脐橙", "沃柑", "砂糖橘", "丑橘", "蜜柚", "金桔", "春见耙耙柑"],
    "pears": ["砀山酥梨", "库尔勒香梨", "雪梨", "秋月梨", "鸭梨"],
    "fruit": [
        "猕猴桃",
        "葡萄",
        "草莓",
        "蓝莓",
        "樱桃",
        "水蜜桃",
        "李子",
        "柿子",
        "石榴",
        "芒果",
        "荔枝",
        "龙眼",
        "红枣",
        "杨梅",
        "枇杷",
        "火龙果",
        "百香果",
        "哈密瓜",
        "西瓜",
        "桑葚",
    ],
    "vegetables": [
        "土豆",
        "红薯",
        "山药",
        "生姜",
        "大蒜",
        "洋葱",
        "辣椒",
        "南瓜",
        "甜玉米",
        "芋头",
        "莲藕",
        "竹笋",
        "西红柿",
        "黄瓜",
        "萝卜",
        "白菜",
        "蕨菜",
        "香椿",
    ],
    "grain-oil": [
        "五常大米",
        "香米",
        "小米",
        "黑米",
        "糯米",
        "玉米面",
        "荞麦面",
        "燕麦",
        "菜籽油",
        "花生油",
        "山茶油",
        "芝麻油",
        "绿豆",
        "红豆",
        "黄豆",
        "高粱",
    ],
    "green-tea": ["龙井茶", "碧螺春", "信阳毛尖", "黄山毛峰", "六安瓜片", "恩施玉露"],
    "oolong-tea": ["铁观音", "大红袍", "凤凰单丛", "冻顶乌龙"],
    "tea": ["普洱茶", "滇红茶", "白茶", "安化黑茶", "茉莉花茶"],
    "meat": ["腊肉", "香肠", "土猪肉", "牛肉干", "羊肉", "腊鸭", "火腿"],
    "eggs-poultry": ["土鸡蛋", "鸭蛋", "咸鸭蛋", "散养土鸡", "鹅蛋", "鹌鹑蛋", "乌鸡"],
    "aquatic": ["大闸蟹", "小龙虾", "鲫鱼", "虾干", "鱼干", "河蚌"],
    "honey": ["土蜂蜜", "槐花蜜", "枣花蜜", "百花蜜", "蜂巢蜜", "椴树蜜", "荆条蜜"],
    "mushrooms-dried": ["香菇", "木耳", "银耳", "松茸", "竹荪", "干笋", "黄花菜", "羊肚菌"],
    "nuts": ["核桃", "山核桃", "板栗", "花生", "葵花籽", "松子", "榛子", "杏仁"],
    "processed": [
        "辣椒酱",
        "红薯粉条",
        "手工挂面",
        "米粉",
        "腐乳",
        "豆瓣酱",
        "柿饼",
        "果脯",
        "酸菜",
        "米酒",
        "年糕",
        "麻花",
    ],
    "herbs": ["枸杞", "黄芪", "当归", "党参", "金银花", "菊花", "天麻", "三七"],
    "handicrafts": [
        "竹编篮",
        "草编包",
        "手工布鞋",
        "刺绣香包",
        "木雕",
        "陶罐",
        "汉服",
        "蜡染布",
        "剪纸",
    ],
    "flowers-seedlings": ["多肉植物", "兰花", "月季苗", "果树苗", "茶花"],
}
ADJECTIVES = [
    "",
    "",
    "",
    "新鲜",
    "现摘",
    "农家",
    "有机",
    "精选",
    "特级",
    "原生态",
    "古法",
    "手工",
    "当季",
    "高山",
    "野生",
    "正宗",
    "散养",
    "礼盒装",
    "自家种",
]
PACKS = ["", "5斤装", "10斤装", "2斤装", "3斤装", "500g", "1kg", "250g", "礼盒", "整箱", "家庭装"]
LABELS = [
    ("5 斤装", 2600, "box"),
    ("1 斤装", 550, "bag"),
    ("10 斤装", 5300, "case"),
    ("500 克", 600, "jar"),
    ("一件", 800, "piece"),
]

# The queries timed: (name, selector arguments). Category and province values are filled
# in by the child from the loaded data.
QUERIES = [
    ("search 茶 (1 char, common), relevance", {"query": "茶"}),
    ("search 茶, newest", {"query": "茶", "sort": "newest"}),
    ("search 茶, relevance, page 50", {"query": "茶", "page": 50}),
    ("search 苹果 (2 chars), relevance", {"query": "苹果"}),
    ("search 苹果, newest", {"query": "苹果", "sort": "newest"}),
    ("search 苹果, relevance, page 50", {"query": "苹果", "page": 50}),
    (
        "search 苹果 + category 水果, price ↑",
        {"query": "苹果", "category": "@fruit", "sort": "price_asc"},
    ),
    ("search 红富士 (3 chars), relevance", {"query": "红富士"}),
    ("search 红富士苹果 (5 chars)", {"query": "红富士苹果"}),
    ("search 山东 苹果 (province and product)", {"query": "山东 苹果"}),
    ("search 梨 (1 char), relevance", {"query": "梨"}),
    ("search 桔 (1 char, 1.8 %), relevance", {"query": "桔"}),
    ("search 荔枝 (2 chars, 1.0 %), relevance", {"query": "荔枝"}),
    ("search 葡萄 (2 chars, 0.7 %), relevance", {"query": "葡萄"}),
    ("search 大米 (2 chars, 0.4 %), relevance", {"query": "大米"}),
    ("search 茶, relevance, page 100 (the last)", {"query": "茶", "page": 100}),
    ("search 苹果 + category 水果, relevance", {"query": "苹果", "category": "@fruit"}),
    ("search 茶 + province, relevance", {"query": "茶", "province_code": "@province"}),
    ("search 蜂蜜, best selling", {"query": "蜂蜜", "sort": "sales"}),
    ("search 竹编 (rare, 2 chars)", {"query": "竹编"}),
    ("search 蕨 (rare, 1 char)", {"query": "蕨"}),
    ("search one product's name (rare)", {"query": "@name"}),
    ("search 榴莲 (no match)", {"query": "榴莲"}),
    ("search 榴莲 (no match), newest", {"query": "榴莲", "sort": "newest"}),
    ("search 榴莲 (no match), price ↑", {"query": "榴莲", "sort": "price_asc"}),
    ("search 竹编 (rare), best selling", {"query": "竹编", "sort": "sales"}),
    ("search 有机 茶 (2 words)", {"query": "有机 茶"}),
    (
        "search 苹果 + province + price + in stock, price ↑",
        {
            "query": "苹果",
            "province_code": "@province",
            "price_min_fen": 2000,
            "price_max_fen": 8000,
            "in_stock": True,
            "sort": "price_asc",
        },
    ),
    ("list all, newest", {"sort": "newest"}),
    ("list all, newest, page 50", {"sort": "newest", "page": 50}),
    ("list category 水果 (with children), newest", {"category": "@fruit", "sort": "newest"}),
    ("list category 水果, price ↑", {"category": "@fruit", "sort": "price_asc"}),
    ("list category 茶叶, best selling", {"category": "@tea", "sort": "sales"}),
    ("list province, newest", {"province_code": "@province", "sort": "newest"}),
    ("list poverty counties, newest", {"poverty_only": True, "sort": "newest"}),
    ("list one village, best selling", {"village": "@village", "sort": "sales"}),
]


def load_divisions(workdir: Path, rng: random.Random) -> Path:
    """A divisions CSV: every province, prefecture and county; townships and rural villages
    of ``COUNTIES`` random counties."""
    with gzip.open(NATIONAL_FILE, "rt", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    upper = [r for r in rows if r["level"] in {"province", "prefecture", "county"}]
    counties = [r["code"] for r in upper if r["level"] == "county"]
    chosen = set(rng.sample(counties, COUNTIES))
    townships = {}
    villages = []
    for row in rows:
        if row["level"] == "township" and row["code"][:6] + "000000" in chosen:
            townships.setdefault(row["code"][:6], []).append(row)
    keep_townships = {}
    for items in townships.values():
        for township in items[:2]:
            keep_townships[township["code"]] = township
    per_county: dict[str, int] = {}
    for row in rows:
        if (
            row["level"] == "village"
            and row["parent_code"] in keep_townships
            and row["ur_code"].startswith("2")
            and per_county.get(row["code"][:6], 0) < VILLAGES_PER_COUNTY
        ):
            per_county[row["code"][:6]] = per_county.get(row["code"][:6], 0) + 1
            villages.append(row)
    path = workdir / "divisions.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=["code", "name", "level", "parent_code", "ur_code"])
        writer.writeheader()
        for row in [*upper, *keep_townships.values(), *villages]:
            writer.writerow({key: row[key] for key in writer.fieldnames})
    return path


def shops_bulk_create(*, rng: random.Random, villages: list, names: dict, count: int, phone: str):
    """``count`` verified shops in random villages, each with its household and seller
    account, in bulk (no services, no audit): the quick way to a large catalog's shops.
    ``phone`` is the sellers' number prefix (8 digits follow)."""
    from django.db import transaction

    from taocun.accounts.models import User
    from taocun.market.models import Shop, ShopStatus
    from taocun.regions.models import Household

    now = datetime.now(UTC)
    with transaction.atomic():
        households = Household.objects.bulk_create(
            Household(village=rng.choice(villages), head_name=f"户主{i}", members=4)
            for i in range(count)
        )
        users = User.objects.bulk_create(
            User(phone=f"{phone}{i:08d}", password="!", household=h)
            for i, h in enumerate(households)
        )
        return Shop.objects.bulk_create(
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


def kind_weights(rng: random.Random, kinds: list) -> list[float]:
    """Zipf-like popularity of the product kinds, in a random order."""
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(kinds))]
    rng.shuffle(weights)
    return weights


class PlaceWords:
    """The names of a village and of the divisions above it, for a product's search text."""

    def __init__(self, names: dict[str, str]):
        self.names = names
        self.cache: dict[str, list[str]] = {}

    def __call__(self, village: str) -> list[str]:
        if village not in self.cache:
            codes = sorted({village[:n].ljust(12, "0") for n in (2, 4, 6, 9)})
            names = self.names
            self.cache[village] = [names[c] for c in codes if c in names] + [names[village]]
        return self.cache[village]


class CategoryWords:
    """A category's names in the three languages, and its parent's, for the search text."""

    def __init__(self, categories: dict):
        self.categories = categories

    def __call__(self, category) -> list[str]:
        words = [category.name_zh_hans, category.name_en, category.name_fr]
        if category.parent_id:
            parent = self.categories[category.parent.slug]
            words += [parent.name_zh_hans, parent.name_en, parent.name_fr]
        return words


def search_rank_of(*, sold: int, ratings: int, rating_avg_centi: int, name: str) -> int:
    """``search.search_rank_expression`` in Python, for rows copied in without the services
    (the load then checks that the database computes the same)."""
    sales = min((sold + 1).bit_length() - 1, 15)
    rated = 2 if rating_avg_centi >= 450 else 1 if rating_avg_centi >= 400 else 0
    return 4 * sales + (rated if ratings >= 3 else 0) + (1 if len(name) <= 20 else 0)


def one_run(products_total: int, runs: int, workdir: Path, reuse: bool = False) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taocun.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from taocun.market import selectors
    from taocun.market.models import Category, Product, Shop
    from taocun.regions.models import Division

    if reuse:
        # The database of an earlier run (--keep, or --pg-database): bring its schema up to
        # date (new migrations run on the loaded catalog) and time the queries only.
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
        timings = {"migrate_s": time.perf_counter() - started}
        products_total = Product.objects.count()
        first_village = Shop.objects.order_by("pk").values_list("village_id", flat=True)[0]
    else:
        timings, first_village = load_catalog(products_total, workdir)
    categories = {c.slug: c for c in Category.objects.select_related("parent")}
    return {
        "vendor": connection.vendor,
        "products": products_total,
        "timings": {k: round(v, 1) for k, v in timings.items()},
        "size_mb": _database_size_mb(connection),
        "queries": time_queries(
            runs=runs,
            fixed={
                "@fruit": categories["fruit"],
                "@tea": categories["tea"],
                "@province": "37",  # 山东
                "@village": Division.objects.get(code=first_village),
                # a specific product's name without its pack size, e.g. "有机栖霞红富士苹果"
                "@name": max(
                    Product.objects.filter(
                        pk__in=range(products_total // 2, products_total // 2 + 50)
                    ).values_list("name", flat=True),
                    key=lambda name: len(name.split(" ")[0]),
                ).split(" ")[0],
            },
            selectors=selectors,
        ),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def load_catalog(products_total: int, workdir: Path) -> tuple[dict[str, float], str]:
    """Migrate and load the catalog (see the module docstring); the timings, and the village
    of the first shop."""
    from django.core.management import call_command
    from django.db import connection, transaction

    from taocun.market import search
    from taocun.market.models import Category, Product
    from taocun.regions.importing import divisions_import
    from taocun.regions.models import Division, Level, Poverty

    rng = random.Random(2016)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    divisions_import(path=load_divisions(workdir, rng))
    villages = list(Division.objects.filter(level=Level.VILLAGE).order_by("code"))
    counties = sorted({v.code[:6] + "000000" for v in villages})
    Division.objects.filter(code__in=rng.sample(counties, POVERTY_COUNTIES)).update(
        poverty=Poverty.NATIONAL, demo_invented=True
    )
    names = dict(Division.objects.values_list("code", "name"))
    timings["divisions_s"] = time.perf_counter() - started

    # Shops: households, their sellers, the shops (verified), in bulk.
    step = time.perf_counter()
    shops = shops_bulk_create(rng=rng, villages=villages, names=names, count=SHOPS, phone="+86139")
    timings["shops_s"] = time.perf_counter() - step

    categories = {c.slug: c for c in Category.objects.select_related("parent")}
    kinds = [(slug, word) for slug, words in KINDS.items() for word in words]
    weights = kind_weights(rng, kinds)
    places = PlaceWords(names)
    category_words = CategoryWords(categories)

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

    def product_rows(start: int, count: int):
        for product_id in range(start, start + count):
            shop = shops[rng.randrange(len(shops))]
            slug, word = rng.choices(kinds, weights)[0]
            category = categories[slug]
            county = names.get(shop.county_id, "")
            place = county.rstrip("县市区") if rng.random() < 0.5 else ""
            name = f"{rng.choice(ADJECTIVES)}{place}{word} {rng.choice(PACKS)}".strip()[:60]
            price = rng.randint(5, 300) * 100 - rng.choice([0, 10, 1])
            stock = 0 if rng.random() < 0.08 else rng.randint(1, 500)
            sold = int(rng.paretovariate(1.5)) - 1
            ratings = rng.randint(0, 20)
            stars = ratings * rng.randint(3, 5)
            average = stars * 100 // ratings if ratings else 0
            text = search.normalize_text(
                " ".join([name, *category_words(category), *places(shop.village_id), shop.name])
            )
            created = connection.ops.adapt_datetimefield_value(
                datetime.fromtimestamp(1_700_000_000 + product_id * 30, UTC)
            )
            label, weight, unit = rng.choice(LABELS)
            yield (
                (
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
                    search_rank_of(sold=sold, ratings=ratings, rating_avg_centi=average, name=name),
                ),
                (
                    product_id,
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
                ),
            )

    search_indexes = _search_indexes(connection)
    with connection.cursor() as cursor:
        for name in search_indexes:
            cursor.execute(f"DROP INDEX {name}")
    step = time.perf_counter()
    with connection.cursor() as cursor:
        for start in range(1, products_total + 1, BATCH):
            count = min(BATCH, products_total - start + 1)
            pairs = list(product_rows(start, count))
            with transaction.atomic():
                _bulk_insert(
                    cursor, connection.vendor, "market_product", columns, [p for p, _v in pairs]
                )
                _bulk_insert(
                    cursor,
                    connection.vendor,
                    "market_variant",
                    variant_columns,
                    [v for _p, v in pairs],
                )
            print(f"  {start + count - 1:,} products", file=sys.stderr, end="\r")
        if connection.vendor == "postgresql":
            for table in ("market_product", "market_variant"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
    timings["products_insert_s"] = time.perf_counter() - step
    step = time.perf_counter()
    # Every rank was copied in; this checks them (a mismatch would be recomputed and counted)
    # and, on SQLite, fills the FTS5 table keyed by rank and optimizes it.
    search.search_index_rebuild()
    with connection.cursor() as cursor:
        for statement in search_indexes.values():
            cursor.execute(statement)
    timings["search_index_s"] = time.perf_counter() - step
    mismatched = Product.objects.exclude(search_rank=search.search_rank_expression()).count()
    assert mismatched == 0, f"{mismatched} search ranks differ from the database's formula"
    step = time.perf_counter()
    with connection.cursor() as cursor:
        # PostgreSQL: VACUUM too, so that the rank index is read without the table (the
        # visibility map; this server runs without autovacuum).
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    timings["analyze_s"] = time.perf_counter() - step
    timings["load_total_s"] = time.perf_counter() - started
    return timings, shops[0].village_id


def time_queries(*, runs: int, fixed: dict, selectors) -> list[dict]:
    from django.db import connection

    from taocun.market import search

    results = []
    for label, arguments in QUERIES:
        arguments = {k: fixed.get(v, v) if isinstance(v, str) else v for k, v in arguments.items()}
        if arguments.get("query") == fixed["@name"]:
            label = label.replace("name", f"name {fixed['@name']}")
        for _ in range(3):  # warm-up: caches, statistics
            result = selectors.product_search(**arguments)
        samples = []
        for _ in range(runs):
            begun = time.perf_counter()
            result = selectors.product_search(**arguments)
            samples.append((time.perf_counter() - begun) * 1000)
        samples.sort()
        results.append(
            {
                "query": label,
                "p50_ms": round(statistics.median(samples), 1),
                "p95_ms": round(samples[max(0, int(len(samples) * 0.95) - 1)], 1),
                "matches": f"{result.total:,}{'+' if result.total_is_capped else ''}",
                "path": _paths(connection.vendor, search, result),
            }
        )
    return results


def _search_indexes(connection) -> dict[str, str]:
    """The search indexes, by name, as CREATE statements: the rank index
    (``market_listed_rank``) and, on PostgreSQL, the trigram index of migration 0003 and the
    index of characters and pairs of 0006. They are
    dropped before the load and created after it (timed as the search index build)."""
    import importlib

    from taocun.market.models import Product

    indexes = {}
    with connection.schema_editor(collect_sql=True) as editor:
        for index in Product._meta.indexes:
            if index.name == "market_listed_rank":
                indexes[index.name] = str(index.create_sql(Product, editor))
    if connection.vendor == "postgresql":
        trigrams = importlib.import_module("taocun.market.migrations.0003_product_search_index")
        grams = importlib.import_module("taocun.market.migrations.0006_product_search_grams")
        for statement in [*trigrams.POSTGRESQL_FORWARD, grams.GRAMS_INDEX]:
            name = statement.split()[2] if statement.startswith("CREATE INDEX") else ""
            if name in {"market_product_search_trgm", "market_product_search_grams"}:
                indexes[name] = statement
    return indexes


def _paths(vendor: str, search, result) -> str:
    """How each term was answered: SQLite "fts" (3+ characters), "vocab N" (a 1-2 character
    term expanded into N trigrams) or "LIKE" (the unindexed fallback); PostgreSQL "trgm"
    (3+ characters, trigram index), "grams" (1-2 characters, the index of characters and
    pairs) or "strpos" (a term the parser might split, unindexed). For
    "best match", then how its candidates were found (``BestMatches.path``)."""
    paths = []
    for term in result.terms:
        if vendor == "sqlite":
            if len(term) >= 3:
                paths.append("fts")
            else:
                trigrams = search._vocabulary_expansion(term)
                paths.append("LIKE" if trigrams is None else f"vocab {len(trigrams)}")
        else:
            indexed = search.search_condition_is_indexed(term)
            paths.append("trgm" if len(term) >= 3 else "grams" if indexed else "strpos")
    if result.search_path:
        paths.append(f"→ {result.search_path}")
    return ", ".join(paths) or "–"


def _bulk_insert(cursor, vendor: str, table: str, columns: str, rows: list[tuple]) -> None:
    if vendor == "postgresql":
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join(["%s"] * (columns.count(",") + 1))
    cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)


def _database_size_mb(connection) -> float:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_database_size(current_database())")
            return round(cursor.fetchone()[0] / 1e6)
        cursor.execute("PRAGMA page_count")
        pages = cursor.fetchone()[0]
        cursor.execute("PRAGMA page_size")
        return round(pages * cursor.fetchone()[0] / 1e6)


def fresh_postgresql(url: str, name: str) -> str:
    import psycopg

    base, _, _ = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as server:
        server.execute(f"DROP DATABASE IF EXISTS {name}")
        server.execute(f"CREATE DATABASE {name}")
    return f"{base}/{name}"


def measure(
    backend: str,
    database_url: str | None,
    products: int,
    runs: int,
    keep: Path | None,
    pg_database: str = BENCH_DATABASE,
    reuse: bool = False,
) -> dict:
    with tempfile.TemporaryDirectory(prefix="taocun-bench-market-") as home:
        sqlite_home = keep or Path(home)
        sqlite_home.mkdir(parents=True, exist_ok=True)
        if backend == "sqlite" and not reuse:
            (sqlite_home / "bench.sqlite3").unlink(missing_ok=True)
        if backend == "postgresql":
            url = (
                database_url.rpartition("/")[0] + "/" + pg_database
                if reuse
                else fresh_postgresql(database_url, pg_database)
            )
        else:
            url = f"sqlite:///{sqlite_home}/bench.sqlite3"
        env = os.environ | {"DATABASE_URL": url, "TAOCUN_VAR_DIR": home}
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                "--products",
                str(products),
                "--runs",
                str(runs),
                "--workdir",
                home,
                *(["--reuse"] if reuse else []),
            ],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )
        return json.loads(done.stdout.strip().splitlines()[-1])


def report(result: dict) -> None:
    out = io.StringIO()
    print(
        f"\n{result['vendor']}: {result['products']:,} products, "
        f"database {result['size_mb']:,} MB, load {result['timings']}, "
        f"peak RSS {result['peak_rss_mb']} MB",
        file=out,
    )
    print("| query | path | p50 ms | p95 ms | matches |\n|---|---|---:|---:|---:|", file=out)
    for row in result["queries"]:
        print(
            f"| {row['query']} | {row['path']} | {row['p50_ms']} | {row['p95_ms']} "
            f"| {row['matches']} |",
            file=out,
        )
    print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--keep", type=Path, help="keep the SQLite database in this folder (for EXPLAIN)"
    )
    parser.add_argument(
        "--pg-database",
        default=BENCH_DATABASE,
        help=f"the PostgreSQL database to drop and create (default {BENCH_DATABASE})",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="time the queries on the database of an earlier run (--keep DIR, --pg-database)"
        " after migrating it, instead of loading a new one",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", options.pg_database) or options.pg_database in {
        "postgres",
        "taocun",
    }:
        parser.error(f"--pg-database {options.pg_database!r}: a new lower-case name, not taocun")
    if options.reuse and not options.child and options.backend != "postgresql" and not options.keep:
        parser.error("--reuse needs --keep DIR for SQLite (where the kept database is)")
    if options.child:
        print(json.dumps(one_run(options.products, options.runs, options.workdir, options.reuse)))
        return
    database_url = os.environ.get("DATABASE_URL", "")
    backends = []
    if options.backend in {"sqlite", "both"}:
        backends.append(("sqlite", None))
    if options.backend in {"postgresql", "both"} and database_url.startswith(
        ("postgres://", "postgresql://")
    ):
        backends.append(("postgresql", database_url))
    for backend, url in backends:
        report(
            measure(
                backend,
                url,
                options.products,
                options.runs,
                options.keep,
                options.pg_database,
                options.reuse,
            )
        )


if __name__ == "__main__":
    main()

"""Search through the public selector, on whichever database the suite runs on (SQLite's
FTS5 trigram index, PostgreSQL's pg_trgm and index of characters and pairs)."""

import importlib
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taocun.core.errors import ValidationError
from taocun.market import search, selectors, services
from taocun.market.models import Category, Product
from taocun.market.tests import factories
from taocun.regions.services import county_designate_poverty


@pytest.fixture
def catalog(tree):
    """Two verified shops in Zhejiang and one in Cao county (Shandong), with products."""
    qianchang = factories.shop(tree.qianchang, name="前仓果园")
    lizu = factories.shop(tree.lizu, name="李祖山货")
    dinglou = factories.shop(tree.dinglou, name="丁楼手工坊")
    products = {
        "apple": factories.product(qianchang, name="烟台红富士苹果", price_fen=3990),
        "pear": factories.product(qianchang, name="砀山酥梨", category="pears", price_fen=2500),
        "honey": factories.product(
            lizu,
            name="农家土蜂蜜 500g",
            category="honey",
            price_fen=6800,
            certifications=[{"kind": "organic", "number": "ORG-1"}],
        ),
        "tea": factories.product(
            lizu, name="高山绿茶", category="green-tea", price_fen=12800, stock=0
        ),
        "basket": factories.product(
            dinglou, name="手工竹编篮 Bamboo basket", category="handicrafts", price_fen=4500
        ),
    }
    return {"shops": (qianchang, lizu, dinglou), **products}


def names(result):
    return sorted(product.name for product in result.items)


def test_a_two_character_word_finds_a_longer_name(catalog):
    assert names(selectors.product_search(query="苹果")) == ["烟台红富士苹果"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("红富士", ["烟台红富士苹果"]),
        ("烟台红富士苹果", ["烟台红富士苹果"]),
        ("梨", ["砀山酥梨"]),  # one character
        ("蜂蜜", ["农家土蜂蜜 500g"]),
        ("500g", ["农家土蜂蜜 500g"]),
        ("烟台 苹果", ["烟台红富士苹果"]),  # every term must match
        ("烟台 蜂蜜", []),
        ("BAMBOO", ["手工竹编篮 Bamboo basket"]),  # case-folded
        ("ｂａｍｂｏｏ", ["手工竹编篮 Bamboo basket"]),  # full-width Latin (NFKC)
        ("竹", ["手工竹编篮 Bamboo basket"]),
        ("榴莲", []),
        ("有机", ["农家土蜂蜜 500g"]),  # a certification
        ("honey", ["农家土蜂蜜 500g"]),  # the category's English name
        ("曹县", ["手工竹编篮 Bamboo basket"]),  # the origin county
        ("李祖", ["农家土蜂蜜 500g", "高山绿茶"]),  # the village
        ("前仓果园", ["烟台红富士苹果", "砀山酥梨"]),  # the shop
    ],
)
def test_search_terms(catalog, query, expected):
    assert names(selectors.product_search(query=query)) == expected


def test_the_last_characters_of_a_text_are_found(catalog):
    """The very end of the indexed text (the shop name) is reachable by short terms too."""
    assert names(selectors.product_search(query="手工坊")) == ["手工竹编篮 Bamboo basket"]
    assert names(selectors.product_search(query="工坊")) == ["手工竹编篮 Bamboo basket"]
    assert names(selectors.product_search(query="坊")) == ["手工竹编篮 Bamboo basket"]


@pytest.mark.parametrize("query", ['"', "100%", "a_b", "苹果 OR 梨", "NEAR(x)", "*", "'; --"])
def test_query_syntax_is_never_interpreted(catalog, query):
    selectors.product_search(query=query)  # no error, whatever the result


def test_relevance_puts_name_matches_first(catalog):
    lizu = catalog["shops"][1]
    factories.product(lizu, name="蜂蜜柚子茶", category="processed", price_fen=3000)
    result = selectors.product_search(query="蜂蜜")
    # Both names start or end a word with 蜂蜜 and neither has sold: newest first.
    assert [p.name for p in result.items] == ["蜂蜜柚子茶", "农家土蜂蜜 500g"]
    assert result.ranked_top is None and result.total == 2


# --- best match: tiers, search rank, the bounded candidate set ------------------------------


def sell(product, units: int) -> None:
    """Units sold, written as the order service writes them (not through the market
    services); the search rank follows at ``search_rank_refresh``."""
    Product.objects.filter(pk=product.pk).update(sold_count=units)


def best(query: str, **kwargs) -> list[str]:
    return [p.name for p in selectors.product_search(query=query, **kwargs).items]


@pytest.fixture
def apple_village(tree):
    """Products that all contain 苹果 somewhere: the shop's name has it."""
    shop = factories.shop(tree.qianchang, name="苹果村果园")
    names = [
        ("苹果 5斤装", "apples"),  # a whole word of the name
        ("新鲜苹果汁饮品", "processed"),  # inside the name
        ("苹果干", "processed"),  # starts the name
        ("砀山酥梨", "pears"),  # only the shop's name: a passing mention
        ("烟台红富士苹果", "apples"),  # ends a word (what the product is)
    ]
    return {name: factories.product(shop, name=name, category=slug) for name, slug in names}


def test_best_match_orders_by_where_the_term_stands_in_the_name(apple_village):
    # Same rank for all (nothing sold): whole word, then start or end of a word (newest
    # first), then inside the name, then the passing mention; creation order is not it.
    assert best("苹果") == ["苹果 5斤装", "烟台红富士苹果", "苹果干", "新鲜苹果汁饮品", "砀山酥梨"]


def test_every_term_counts_towards_the_tier(apple_village):
    # 红富士 is in one name only: that product goes first although both contain 苹果.
    assert best("苹果 红富士") == ["烟台红富士苹果"]
    assert best("果园 苹果")[:2] == ["苹果 5斤装", "烟台红富士苹果"]


def test_sales_order_a_tier_once_the_rank_is_refreshed(apple_village):
    older = apple_village["苹果干"]
    sell(older, 30)
    # The stored rank is what orders: sales change it only when it is refreshed.
    assert best("苹果")[1:3] == ["烟台红富士苹果", "苹果干"]
    assert search.search_rank_refresh() == 1
    assert search.search_rank_refresh() == 0
    older.refresh_from_db()
    assert older.search_rank == 4 * 4 + 1  # 30 sold: 2^4 - 1 <= 30 < 2^5 - 1; a short name
    assert best("苹果")[1:3] == ["苹果干", "烟台红富士苹果"]
    # Re-keyed, not duplicated: each product once, whatever the path.
    assert sorted(best("苹果")) == sorted(apple_village)
    assert sorted(best("苹果", sort="newest")) == sorted(apple_village)


def test_the_services_that_count_sales_and_ratings_refresh_the_rank(apple_village):
    """Completed orders (``product_sold_add``) and reviews (``product_rating_apply``) move
    a product up at once: nothing is left for a periodic refresh."""
    dried, juice = apple_village["苹果干"], apple_village["新鲜苹果汁饮品"]
    services.product_sold_add(quantities=[(dried.pk, 20), (dried.pk, 10)])
    services.product_rating_apply(product=juice, stars_delta=14, count_delta=3)
    dried.refresh_from_db()
    juice.refresh_from_db()
    assert (dried.sold_count, dried.search_rank) == (30, 4 * 4 + 1)
    assert (juice.rating_avg_centi, juice.search_rank) == (466, 2 + 1)
    assert search.search_rank_refresh() == 0
    assert best("苹果")[1:3] == ["苹果干", "烟台红富士苹果"]
    assert sorted(best("苹果")) == sorted(apple_village)


def test_the_search_rank_weighs_sales_then_ratings_then_a_short_name(apple_village):
    juice, dried = apple_village["新鲜苹果汁饮品"], apple_village["苹果干"]
    long_name = factories.product(juice.shop, name="苹果" * 11, category="apples")
    Product.objects.filter(pk=juice.pk).update(rating_count=3, rating_avg_centi=450)
    Product.objects.filter(pk=dried.pk).update(rating_count=2, rating_avg_centi=500)
    sell(long_name, 1)
    search.search_rank_refresh()
    ranks = dict(Product.objects.values_list("name", "search_rank"))
    assert ranks["新鲜苹果汁饮品"] == 2 + 1  # 4.5 stars over 3 ratings, a short name
    assert ranks["苹果干"] == 1  # 2 ratings are too few to count
    assert ranks["苹果" * 11] == 4  # one sale; 22 characters is not short
    assert ranks["砀山酥梨"] == 1


@pytest.fixture
def honey_shelf(tree):
    """Six products with 蜂蜜 in their names, best-ranked first by sales: the one whose name
    is just 蜂蜜 (the best match) has sold least."""
    shop = factories.shop(tree.lizu, name="李祖山货")
    made = []
    for units, name in [
        (500, "土蜂蜜礼盒装"),  # inside the name
        (200, "蜂蜜柚子茶"),  # starts a word
        (100, "蜂蜜 500g"),  # a whole word
        (50, "野生蜂蜜"),  # ends a word
        (20, "百花蜂蜜膏"),  # inside
        (0, "蜂蜜"),  # the whole name
    ]:
        price = 9900 if units == 500 else 3990
        product = factories.product(shop, name=name, category="honey", price_fen=price)
        sell(product, units)
        made.append(product)
    search.search_rank_refresh()
    return made


def test_best_match_ranks_only_the_best_ranked_candidates_and_says_so(honey_shelf, monkeypatch):
    monkeypatch.setattr(selectors, "TOTAL_CAP", 4)
    result = selectors.product_search(query="蜂蜜", page_size=2)
    # The 4 best-ranked are ranked, by tier: the plain "蜂蜜" (sold least) is not among them.
    assert [p.name for p in result.items] == ["蜂蜜 500g", "蜂蜜柚子茶"]
    assert result.total == 4 and result.total_is_capped and result.ranked_top == 4
    second = selectors.product_search(query="蜂蜜", page=2, page_size=2)
    assert [p.name for p in second.items] == ["野生蜂蜜", "土蜂蜜礼盒装"]
    assert not second.has_next
    monkeypatch.setattr(selectors, "TOTAL_CAP", 6)
    everything = selectors.product_search(query="蜂蜜", page_size=6)
    # All ranked: two whole words (by rank), two word starts or ends, two inside.
    assert [p.name for p in everything.items] == [
        "蜂蜜 500g",
        "蜂蜜",
        "蜂蜜柚子茶",
        "野生蜂蜜",
        "土蜂蜜礼盒装",
        "百花蜂蜜膏",
    ]
    assert everything.ranked_top is None and not everything.total_is_capped
    assert len(best("蜂蜜", sort="newest", page_size=6)) == 6


def test_pages_of_best_match_follow_one_order(honey_shelf, monkeypatch):
    monkeypatch.setattr(selectors, "TOTAL_CAP", 6)
    whole = best("蜂蜜", page_size=6)
    pages = [selectors.product_search(query="蜂蜜", page=page, page_size=2) for page in (1, 2, 3)]
    assert [p.name for result in pages for p in result.items] == whole
    assert [result.has_next for result in pages] == [True, True, False]
    assert len(set(whole)) == 6


@pytest.mark.parametrize(
    ("settings_", "path"),
    [
        ({}, {"sqlite": "index", "postgresql": "probe"}),
        # PostgreSQL: a probe too short to see every product, then the walk of the rank
        # index, or (when the walk would be too long) every match through the GIN indexes.
        ({"RELEVANCE_PROBE": 2}, {"sqlite": "index", "postgresql": "walk"}),
        ({"RELEVANCE_PROBE": 2, "RELEVANCE_WALK_MAX": 0}, {"postgresql": "matches"}),
        # SQLite: 1- and 2-character terms too common for the index are checked row by row.
        ({"VOCAB_EXPANSION_MAX": 0}, {"sqlite": "scan"}),
    ],
)
def test_every_way_to_the_candidates_gives_the_same_answer(
    honey_shelf, apple_village, monkeypatch, settings_, path
):
    if connection.vendor not in path:
        pytest.skip(f"not a path of {connection.vendor}")
    monkeypatch.setattr(selectors, "TOTAL_CAP", 4)
    for name, value in settings_.items():
        monkeypatch.setattr(search, name, value)
    honey = ["蜂蜜 500g", "蜂蜜柚子茶", "野生蜂蜜", "土蜂蜜礼盒装"]
    for query, names in [
        ("蜂蜜", honey),
        ("蜂", ["蜂蜜柚子茶", "蜂蜜 500g", "土蜂蜜礼盒装", "野生蜂蜜"]),
    ]:
        result = selectors.product_search(query=query, page_size=4)
        assert [p.name for p in result.items] == names, query
        assert result.search_path == path[connection.vendor], query
    assert best("蜂蜜 500g", page_size=4) == ["蜂蜜 500g"]
    # The 5 apple products have the same rank: the 4 newest are ranked.
    assert best("苹", page_size=4) == ["苹果干", "烟台红富士苹果", "新鲜苹果汁饮品", "砀山酥梨"]
    # With a filter, the candidates are the best-ranked matches that pass it.
    result = selectors.product_search(query="蜂蜜", price_max_fen=5000, page_size=4)
    assert [p.name for p in result.items] == ["蜂蜜 500g", "蜂蜜柚子茶", "野生蜂蜜", "百花蜂蜜膏"]
    assert result.ranked_top == 4


SORTED_PAGE = re.compile(r'ORDER BY ("market_product"\."\w+"|1) (ASC|DESC).* LIMIT')


@pytest.mark.parametrize("sort", [sort for sort in selectors.SORTS if sort != "relevance"])
def test_a_sorted_search_gives_one_order_whether_few_or_many_products_match(
    honey_shelf, monkeypatch, sort
):
    """Up to SORT_AS_FOUND_MAX matches are fetched through the word indexes and sorted in
    Python; more are met down the sorted index. Both give the database's order, page after
    page, and the same count."""
    keys = {
        "newest": lambda p: (-p.pk,),
        "price_asc": lambda p: (p.price_min_fen, p.pk),
        "price_desc": lambda p: (-p.price_min_fen, -p.pk),
        "sales": lambda p: (-p.sold_count, -p.pk),
        "rating": lambda p: (-p.rating_avg_centi, -p.pk),
    }
    # Distinct ratings (the shelf has none), not in the order of the ids or of the sales.
    for stars, product in zip([430, 480, 390, 450, 410, 470], honey_shelf, strict=True):
        Product.objects.filter(pk=product.pk).update(rating_avg_centi=stars)
    honey = sorted(Product.objects.filter(name__contains="蜂蜜"), key=keys[sort])
    expected = [p.name for p in honey]
    # (TOTAL_CAP, SORT_AS_FOUND_MAX) → sorted here?
    for cap, found_max, sorted_here in [(6, 6, True), (4, 6, True), (4, 5, False), (4, 2, False)]:
        monkeypatch.setattr(selectors, "TOTAL_CAP", cap)
        monkeypatch.setattr(selectors, "SORT_AS_FOUND_MAX", found_max)
        with CaptureQueriesContext(connection) as queries:
            pages = [
                selectors.product_search(query="蜂蜜", sort=sort, page=page, page_size=2)
                for page in range(1, cap // 2 + 1)
            ]
        assert [p.name for page in pages for p in page.items] == expected[: cap // 2 * 2]
        assert [page.total for page in pages] == [min(6, cap)] * len(pages)
        assert all(page.total_is_capped == (cap < 6) for page in pages)
        assert [page.has_next for page in pages] == [True] * (len(pages) - 1) + [False]
        walks = [q["sql"] for q in queries if SORTED_PAGE.search(q["sql"])]
        assert bool(walks) != sorted_here, (cap, found_max)


@pytest.mark.parametrize("word", ["榴莲", "榴莲千层"])
def test_a_search_for_a_word_nothing_holds_runs_no_page_query(catalog, word):
    """Nothing is sorted or walked for a word no product holds (a 2-character word reaches
    PostgreSQL's index of pairs, a longer one the trigram indexes of both databases)."""
    with CaptureQueriesContext(connection) as queries:
        result = selectors.product_search(query=word, sort="newest")
    assert result.items == [] and result.total == 0 and not result.has_next
    assert not [q for q in queries if SORTED_PAGE.search(q["sql"])]


def test_the_migration_computes_the_rank_as_search_does(apple_village, honey_shelf):
    migration = importlib.import_module("taocun.market.migrations.0005_product_search_rank_fill")
    Product.objects.filter(pk=honey_shelf[0].pk).update(rating_count=5, rating_avg_centi=420)
    Product.objects.filter(pk=honey_shelf[1].pk).update(sold_count=40_000)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, {migration.RANK_SQL} FROM market_product ORDER BY id")
        by_migration = cursor.fetchall()
    by_search = list(
        Product.objects.order_by("id").values_list("id", search.search_rank_expression())
    )
    assert by_migration == by_search
    assert {rank for _id, rank in by_search} >= {4 * 15 + 1, 4 * 8 + 1 + 1}


def test_the_page_and_the_api_say_when_best_match_ranked_only_the_top(honey_shelf, monkeypatch):
    monkeypatch.setattr(selectors, "TOTAL_CAP", 4)
    body = Client().get("/api/v1/market/products", {"q": "蜂蜜", "page_size": 2}).json()
    assert body["ranked_top"] == 4 and body["total_is_capped"]
    newest = (
        Client()
        .get("/api/v1/market/products", {"q": "蜂蜜", "sort": "newest", "page_size": 2})
        .json()
    )
    assert newest["ranked_top"] is None
    # The page shows 20 a page, so its cap is at least that.
    for number in range(15):
        factories.product(honey_shelf[0].shop, name=f"蜂蜜{number}号", category="honey")
    monkeypatch.setattr(selectors, "TOTAL_CAP", 20)
    english = Client(headers={"accept-language": "en"})
    html = english.get("/market/search/", {"q": "蜂蜜"}).content.decode()
    assert "Best match ranks the 20 best-selling, best-rated matches" in html
    html = english.get("/market/search/", {"q": "蜂蜜", "sort": "newest"}).content.decode()
    assert "Best match ranks" not in html


def test_a_renamed_product_is_found_by_its_new_name_only(catalog):
    services.product_update(actor=None, product=catalog["pear"], name="库尔勒香梨")
    assert names(selectors.product_search(query="酥梨")) == []
    assert names(selectors.product_search(query="香梨")) == ["库尔勒香梨"]


def test_a_renamed_shop_is_found_by_its_new_name(catalog):
    services.shop_update(actor=None, shop=catalog["shops"][0], name="前仓家庭农场")
    assert names(selectors.product_search(query="前仓果园")) == []
    assert names(selectors.product_search(query="家庭农场")) == ["烟台红富士苹果", "砀山酥梨"]


def test_products_of_shops_that_cannot_sell_are_not_found(tree):
    pending = factories.shop(tree.qianchang, name="待审果园", verified=False)
    factories.product(pending, name="冰糖心苹果")
    assert names(selectors.product_search(query="苹果")) == []
    services.shop_verify(actor=None, shop=pending)
    assert names(selectors.product_search(query="苹果")) == ["冰糖心苹果"]
    services.shop_suspend(actor=None, shop=pending, reason="虚假宣传")
    assert names(selectors.product_search(query="苹果")) == []


def test_filters(catalog, tree):
    fruit = Category.objects.get(slug="fruit")
    assert names(selectors.product_search(category=fruit)) == ["烟台红富士苹果", "砀山酥梨"]
    assert names(selectors.product_search(province_code="37")) == ["手工竹编篮 Bamboo basket"]
    assert names(selectors.product_search(price_min_fen=4000, price_max_fen=7000)) == [
        "农家土蜂蜜 500g",
        "手工竹编篮 Bamboo basket",
    ]
    assert "高山绿茶" not in names(selectors.product_search(in_stock=True))
    assert names(selectors.product_search(certification="organic")) == ["农家土蜂蜜 500g"]
    assert names(selectors.product_search(village=tree.lizu)) == ["农家土蜂蜜 500g", "高山绿茶"]
    assert names(selectors.product_search(query="果", category=fruit, in_stock=True)) == [
        "烟台红富士苹果",
        "砀山酥梨",  # its category, 水果 › 梨, contains 果
    ]


def test_poverty_county_filter(catalog, tree):
    assert names(selectors.product_search(poverty_only=True)) == ["手工竹编篮 Bamboo basket"]
    county_designate_poverty(actor=None, county=tree.caoxian, poverty="")
    assert names(selectors.product_search(poverty_only=True)) == []


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("price_asc", ["砀山酥梨", "烟台红富士苹果", "手工竹编篮 Bamboo basket"]),
        ("price_desc", ["高山绿茶", "农家土蜂蜜 500g", "手工竹编篮 Bamboo basket"]),
        ("newest", ["手工竹编篮 Bamboo basket", "高山绿茶", "农家土蜂蜜 500g"]),
    ],
)
def test_sorting(catalog, sort, expected):
    result = selectors.product_search(sort=sort, page_size=3)
    assert [p.name for p in result.items] == expected
    assert result.has_next and result.total == 5 and not result.total_is_capped


def test_pagination(catalog):
    second = selectors.product_search(sort="price_asc", page=2, page_size=2)
    assert [p.name for p in second.items] == ["手工竹编篮 Bamboo basket", "农家土蜂蜜 500g"]
    assert second.has_previous and second.has_next and second.last_page == 3
    last = selectors.product_search(sort="price_asc", page=3, page_size=2)
    assert [p.name for p in last.items] == ["高山绿茶"] and not last.has_next


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"query": "苹" * 61}, "q"),
        ({"query": "a b c d e f"}, "q"),
        ({"sort": "cheapest"}, "sort"),
        ({"page": 0}, "page"),
        ({"page": 10_000}, "page"),
        ({"price_min_fen": -1}, "price_min"),
        ({"price_min_fen": 500, "price_max_fen": 100}, "price_min"),
        ({"province_code": "3"}, "province"),
        ({"certification": "halal"}, "certification"),
    ],
)
def test_bad_search_input(db, kwargs, field):
    with pytest.raises(ValidationError) as info:
        selectors.product_search(**kwargs)
    assert info.value.field == field


def test_a_very_common_single_character_falls_back_to_a_scan(catalog, monkeypatch):
    """On SQLite a 1-character term that starts too many trigrams is matched with LIKE;
    the answer is the same."""
    monkeypatch.setattr(search, "VOCAB_EXPANSION_MAX", 1)
    assert names(selectors.product_search(query="果")) == ["烟台红富士苹果", "砀山酥梨"]


def test_rebuilding_the_index_after_a_bulk_load_changes_no_answer(catalog):
    before = {q: names(selectors.product_search(query=q)) for q in ("苹果", "梨", "竹编篮")}
    search.search_index_rebuild()
    after = {q: names(selectors.product_search(query=q)) for q in before}
    assert after == before


@pytest.mark.parametrize("query", ["5斤", "g", "a-", "-苹", "苹.", "々", "斤装", "00"])
def test_short_terms_with_digits_symbols_and_punctuation_find_what_the_text_holds(tree, query):
    """1- and 2-character terms of every kind of character give exactly the products whose
    text holds them (on PostgreSQL: looked up in the index of characters and pairs, or
    rechecked alone when the text-search parser might split them)."""
    shop = factories.shop(tree.qianchang, name="前仓果园")
    for name in ("苹果 5斤装", "苹.果 a-b", "-苹 々 g00", "g 5 斤"):
        factories.product(shop, name=name)
    found = names(selectors.product_search(query=query))
    expected = sorted(
        product.name
        for product in Product.objects.filter(is_listed=True)
        if query in search.normalize_text(product.search_text)
    )
    assert found == expected


@pytest.fixture
def postgresql_db(db):
    if connection.vendor != "postgresql":
        pytest.skip("the index of characters and pairs is PostgreSQL's")


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(alphabet="苹果梨茶蜂蜜 5斤装aBc-.,々·()", max_size=24))
def test_the_index_of_pairs_holds_every_character_and_pair_of_a_text(postgresql_db, text):
    """Every 1- or 2-character substring that search looks up in the index is found there
    for any text: the index never misses a product that holds a term."""
    text = search.normalize_text(text)
    terms = sorted({text[i : i + n] for n in (1, 2) for i in range(len(text) - n + 1)})
    terms = [term for term in terms if term.isalnum()]
    if not terms:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT term FROM unnest(%s::text[]) AS term WHERE NOT "
            "taocun_search_grams(%s) @@ plainto_tsquery('simple', term)",
            [terms, text],
        )
        assert cursor.fetchall() == []


@pytest.mark.django_db(transaction=True)
def test_a_search_gets_memory_for_exact_bitmaps_for_its_own_queries_only():
    """Out of any transaction (as a page's request is), the setting ends with the search."""
    if connection.vendor != "postgresql":
        pytest.skip("work_mem is PostgreSQL's")

    def work_mem():
        with connection.cursor() as cursor:
            cursor.execute("SHOW work_mem")
            return cursor.fetchone()[0]

    before = work_mem()
    with search.search_memory(["茶"]):
        assert work_mem() == search.SEARCH_WORK_MEM
    assert work_mem() == before
    with search.search_memory([]):  # a listing: nothing to look up in the text's index
        assert work_mem() == before


def test_which_terms_are_answered_from_an_index(catalog):
    assert search.search_condition_is_indexed("红富士")  # 3+ characters: trigrams
    if connection.vendor == "postgresql":
        assert search.search_condition_is_indexed("苹果")
        assert search.search_condition_is_indexed("梨")
        assert not search.search_condition_is_indexed("a-")  # the parser might drop "-"
        assert not search.search_condition_is_indexed("·")

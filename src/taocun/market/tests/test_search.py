"""Search through the public selector, on whichever database the suite runs on (SQLite's
FTS5 trigram index, PostgreSQL's pg_trgm and character index)."""

import pytest

from taocun.core.errors import ValidationError
from taocun.market import search, selectors, services
from taocun.market.models import Category
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
    # Both names contain 蜂蜜; the one where it comes earlier ranks first.
    assert [p.name for p in result.items] == ["蜂蜜柚子茶", "农家土蜂蜜 500g"]


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

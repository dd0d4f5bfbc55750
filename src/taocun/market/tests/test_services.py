"""Shop and catalog services: validation, derived columns, stock, audit."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from taocun.core.errors import Conflict, ValidationError
from taocun.core.models import AuditEntry
from taocun.market import selectors, services
from taocun.market.models import Category, Product, ShopStatus, Variant
from taocun.market.tests import factories

VARIANT = {"label": "5 斤装", "unit": "box", "weight_g": 2500, "price_fen": 3990, "stock": 10}


def test_opening_a_shop_takes_the_households_village_and_waits_for_verification(tree):
    keeper = factories.seller(tree.dinglou)
    shop = services.shop_open(
        actor=keeper,
        household=keeper.household,
        name=" 丁楼汉服坊 ",
        story="村里人做汉服。",
        categories=[Category.objects.get(slug="handicrafts")],
    )
    assert shop.name == "丁楼汉服坊"
    assert shop.village == tree.dinglou
    assert shop.county == tree.caoxian
    assert shop.province_code == "37"
    assert shop.status == ShopStatus.PENDING and not shop.can_sell
    assert AuditEntry.objects.filter(action="shop.open", object_id=str(shop.pk)).exists()


def test_one_shop_per_household_and_unique_names(tree):
    shop = factories.shop(tree.qianchang, name="前仓果园")
    with pytest.raises(Conflict):
        services.shop_open(actor=None, household=shop.household, name="另一个店", categories=[])
    other = factories.seller(tree.qianchang)
    with pytest.raises(ValidationError) as info:
        services.shop_open(actor=other, household=other.household, name="前仓果园")
    assert info.value.field == "name"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "果"}, "name"),
        ({"name": "果" * 31}, "name"),
        ({"name": "果园\x00"}, "name"),
        ({"story": "长" * 2001}, "story"),
        ({"categories": list("abcdef")}, "categories"),
    ],
)
def test_shop_open_refuses_bad_input(tree, kwargs, field):
    keeper = factories.seller(tree.qianchang)
    if "categories" in kwargs:
        kwargs["categories"] = list(Category.objects.filter(parent=None)[:6])
    arguments = {"actor": keeper, "household": keeper.household, "name": "好名字"} | kwargs
    with pytest.raises(ValidationError) as info:
        services.shop_open(**arguments)
    assert info.value.field == field


def test_verification_lifecycle_lists_and_unlists_products(tree):
    shop = factories.shop(tree.qianchang, verified=False)
    product = factories.product(shop)
    assert not product.is_listed
    with pytest.raises(ValidationError) as info:
        services.shop_reject(actor=None, shop=shop, reason="  ")
    assert info.value.field == "reason"
    services.shop_reject(actor=None, shop=shop, reason="照片不清楚")
    with pytest.raises(Conflict):
        services.shop_suspend(actor=None, shop=shop, reason="x")
    services.shop_submit(actor=None, shop=shop)
    services.shop_verify(actor=None, shop=shop)
    product.refresh_from_db()
    assert shop.status == ShopStatus.VERIFIED and shop.verified_at and product.is_listed
    services.shop_suspend(actor=None, shop=shop, reason="售假")
    product.refresh_from_db()
    assert not product.is_listed and shop.status_reason == "售假"
    services.shop_reopen(actor=None, shop=shop)
    product.refresh_from_db()
    assert product.is_listed
    actions = list(
        AuditEntry.objects.filter(object_id=str(shop.pk), action__startswith="shop.")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "shop.open",
        "shop.reject",
        "shop.submit",
        "shop.verify",
        "shop.suspend",
        "shop.reopen",
    ]


def test_product_create_derives_prices_stock_place_and_listing(tree):
    shop = factories.shop(tree.qianchang)
    product = factories.product(
        shop,
        variants=[
            {**VARIANT, "stock": 0},
            {"label": "10 斤装", "unit": "case", "weight_g": 5200, "price_fen": 6990, "stock": 0},
        ],
        harvest_months=[10, 9, 9],
        shelf_life_days=30,
        certifications=[{"kind": "geo_indication", "number": "AGI01234"}],
    )
    assert (product.price_min_fen, product.price_max_fen) == (3990, 6990)
    assert not product.in_stock and product.is_listed
    assert product.months == [9, 10]
    assert product.origin_village == tree.qianchang and product.origin_county == tree.yiwu
    assert product.province_code == "33"
    assert {v.sku for v in product.variants.all()} == {
        f"P{product.pk}-V{v.pk}" for v in product.variants.all()
    }
    assert "地理标志" in product.search_text and "义乌市" in product.search_text


@pytest.mark.parametrize(
    ("variant", "field"),
    [
        ({"price_fen": 0}, "variants.0.price_fen"),
        ({"price_fen": -100}, "variants.0.price_fen"),
        ({"price_fen": 100_000_001}, "variants.0.price_fen"),
        ({"price_fen": 39.9}, "variants.0.price_fen"),
        ({"price_fen": True}, "variants.0.price_fen"),
        ({"stock": -1}, "variants.0.stock"),
        ({"stock": 1_000_001}, "variants.0.stock"),
        ({"weight_g": 0}, "variants.0.weight_g"),
        ({"weight_g": 1_000_001}, "variants.0.weight_g"),
        ({"label": ""}, "variants.0.label"),
        ({"unit": "ton"}, "variants.0.unit"),
        ({"sku": "a b"}, "variants.0.sku"),
    ],
)
def test_absurd_variants_are_refused(tree, variant, field):
    shop = factories.shop(tree.qianchang)
    with pytest.raises(ValidationError) as info:
        factories.product(shop, variants=[{**VARIANT, **variant}])
    assert info.value.field == field
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "苹"}, "name"),
        ({"variants": []}, "variants"),
        ({"variants": [VARIANT] * 21}, "variants"),
        ({"variants": [{**VARIANT, "sku": "A"}, {**VARIANT, "sku": "A"}]}, "variants"),
        ({"harvest_months": [13]}, "harvest_months"),
        ({"shelf_life_days": 0}, "shelf_life_days"),
        ({"certifications": [{"kind": "halal"}]}, "certifications.0.kind"),
    ],
)
def test_bad_products_are_refused(tree, kwargs, field):
    shop = factories.shop(tree.qianchang)
    with pytest.raises(ValidationError) as info:
        factories.product(shop, **kwargs)
    assert info.value.field == field


def test_pre_sale_date_and_origin_village_rules(tree):
    shop = factories.shop(tree.qianchang)
    today = timezone.localdate()
    with pytest.raises(ValidationError) as info:
        factories.product(shop, presale_ship_date=today - timedelta(days=2))
    assert info.value.field == "presale_ship_date"
    with pytest.raises(ValidationError):
        factories.product(shop, presale_ship_date=today + timedelta(days=400))
    presale = factories.product(shop, presale_ship_date=today + timedelta(days=30))
    assert presale.presale_ship_date == today + timedelta(days=30)
    # Another village of the same county is fine; one of another county is not.
    assert factories.product(shop, origin_village=tree.lizu).origin_village == tree.lizu
    with pytest.raises(ValidationError) as info:
        factories.product(shop, origin_village=tree.dinglou)
    assert info.value.field == "origin_village"


def test_product_update_changes_only_what_is_passed_and_audits_the_difference(tree):
    shop = factories.shop(tree.qianchang)
    product = factories.product(shop, shelf_life_days=20)
    services.product_update(actor=None, product=product, name="栖霞苹果", status="inactive")
    product.refresh_from_db()
    assert product.name == "栖霞苹果" and product.shelf_life_days == 20
    assert not product.is_listed
    entry = AuditEntry.objects.filter(action="product.update").latest("id")
    assert entry.before == {"name": "烟台红富士苹果", "status": "active"}
    assert entry.after == {"name": "栖霞苹果", "status": "inactive"}


def test_stock_never_goes_negative(tree):
    product = factories.product(factories.shop(tree.qianchang), stock=3)
    variant = product.variants.get()
    assert services.variant_stock_adjust(actor=None, variant=variant, delta=-2) == 1
    with pytest.raises(Conflict) as info:
        services.variant_stock_adjust(actor=None, variant=variant, delta=-2)
    assert info.value.code == "out_of_stock"
    variant.refresh_from_db()
    assert variant.stock == 1
    assert services.variant_stock_adjust(actor=None, variant=variant, delta=-1) == 0
    product.refresh_from_db()
    assert not product.in_stock
    services.variant_stock_adjust(actor=None, variant=variant, delta=5, reason="新摘")
    product.refresh_from_db()
    assert product.in_stock
    with pytest.raises(ValidationError):
        services.variant_stock_adjust(actor=None, variant=variant, delta=1_000_000)
    with pytest.raises(ValidationError):
        services.variant_stock_set(actor=None, variant=variant, stock=-5)


@pytest.fixture
def two_packs(tree) -> Product:
    """A product with a 5 斤 pack (3 left) and a 10 斤 pack (1 left)."""
    return factories.product(
        factories.shop(tree.qianchang),
        variants=[VARIANT | {"stock": 3}, VARIANT | {"label": "10 斤装", "stock": 1}],
    )


def _stocks(product: Product) -> list[int]:
    return list(product.variants.order_by("pk").values_list("stock", flat=True))


@pytest.mark.parametrize("returning", [True, False], ids=["returning", "without-returning"])
def test_several_packs_move_in_one_statement_all_or_nothing(
    two_packs, returning, monkeypatch, django_assert_num_queries
):
    """Without RETURNING (SQLite before 3.35) each pack is its own conditional UPDATE and
    the new stocks are read back; the outcome is the same."""
    if not returning:
        if connection.vendor != "sqlite":
            pytest.skip("PostgreSQL always has RETURNING (Django's own inserts need it)")
        monkeypatch.setattr(connection.features, "can_return_columns_from_insert", False)
    small, big = two_packs.variants.order_by("pk")
    with pytest.raises(Conflict) as info:
        services.variants_stock_adjust(actor=None, changes=[(small, -2), (big, -2)])
    assert info.value.code == "out_of_stock" and info.value.extra == {"variant_id": big.pk}
    # Nothing moved, and the transaction the caller is in goes on (no savepoint to undo).
    assert _stocks(two_packs) == [3, 1] and (small.stock, big.stock) == (3, 1)
    assert not AuditEntry.objects.filter(action="variant.stock_adjust").exists()

    with django_assert_num_queries(2 if returning else 4):  # the stock, the audit entries
        stocks = services.variants_stock_adjust(
            actor=None, changes=[(big, 1), (small, -2)], reason="盘点"
        )
    assert stocks == {small.pk: 1, big.pk: 2} and (small.stock, big.stock) == (1, 2)
    assert _stocks(two_packs) == [1, 2]
    entries = AuditEntry.objects.filter(action="variant.stock_adjust").order_by("object_id")
    assert [(entry.object_id, entry.after) for entry in entries] == [
        (str(small.pk), {"delta": -2, "stock": 1, "reason": "盘点"}),
        (str(big.pk), {"delta": 1, "stock": 2, "reason": "盘点"}),
    ]
    with pytest.raises(ValidationError) as too_much:
        services.variants_stock_adjust(actor=None, changes=[(small, 1), (big, 999_999)])
    assert too_much.value.field == "delta" and _stocks(two_packs) == [1, 2]


def test_a_stock_change_names_the_bad_pack(two_packs):
    small, big = two_packs.variants.order_by("pk")
    with pytest.raises(ValidationError) as twice:
        services.variants_stock_adjust(actor=None, changes=[(small, -1), (small, -1)])
    assert twice.value.field == "changes.1.variant"
    with pytest.raises(ValidationError) as zero:
        services.variants_stock_adjust(actor=None, changes=[(small, -1), (big, 0)])
    assert zero.value.field == "changes.1.delta"
    with pytest.raises(ValidationError) as single:
        services.variant_stock_adjust(actor=None, variant=small, delta="lots")
    assert single.value.field == "delta"
    assert services.variants_stock_adjust(actor=None, changes=[]) == {}
    assert _stocks(two_packs) == [3, 1]


def test_the_in_stock_flag_is_written_only_when_a_pack_crosses_zero(
    two_packs, django_assert_num_queries
):
    small, big = two_packs.variants.order_by("pk")
    with django_assert_num_queries(2):  # no pack reaches 0: the stock and the audit entry
        services.variant_stock_adjust(actor=None, variant=small, delta=-2)
    with django_assert_num_queries(3):  # the 10 斤 pack sells out: the flag is checked
        services.variant_stock_adjust(actor=None, variant=big, delta=-1)
    two_packs.refresh_from_db()
    assert two_packs.in_stock  # the 5 斤 pack still has one
    services.variant_stock_adjust(actor=None, variant=small, delta=-1)
    two_packs.refresh_from_db()
    assert not two_packs.in_stock
    services.variant_update(actor=None, variant=big, is_active=False)
    services.variant_stock_adjust(actor=None, variant=big, delta=5)
    two_packs.refresh_from_db()
    assert not two_packs.in_stock  # a pack off sale does not count
    with django_assert_num_queries(3):  # back from 0: the flag is set
        services.variant_stock_adjust(actor=None, variant=small, delta=2)
    two_packs.refresh_from_db()
    assert two_packs.in_stock


def test_the_database_refuses_negative_stock_and_bad_prices_whatever_the_path(tree):
    product = factories.product(factories.shop(tree.qianchang), stock=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Variant.objects.filter(product=product).update(stock=-1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Variant.objects.filter(product=product).update(price_fen=0)
    with pytest.raises(IntegrityError), transaction.atomic():
        Category.objects.filter(slug="tea").update(commission_rate_bp=10_001)


def test_variant_changes_refresh_the_product(tree):
    product = factories.product(factories.shop(tree.qianchang), price_fen=3990)
    cheap = services.variant_add(
        actor=None, product=product, label="尝鲜装", weight_g=600, price_fen=990, stock=5
    )
    product.refresh_from_db()
    assert product.price_min_fen == 990
    services.variant_update(actor=None, variant=cheap, is_active=False)
    product.refresh_from_db()
    assert product.price_min_fen == 3990
    with pytest.raises(ValidationError) as info:
        services.variant_update(actor=None, variant=cheap, sku=product.variants.first().sku)
    assert info.value.field == "sku"
    services.variant_update(actor=None, variant=product.variants.first(), is_active=False)
    product.refresh_from_db()
    assert not product.is_listed  # nothing left on sale


def test_shipping_settings_and_fee(tree):
    shop = factories.shop(tree.qianchang)
    services.shop_shipping_set(
        actor=None,
        shop=shop,
        mode="weight",
        base_fen=800,
        per_kg_fen=200,
        free_shipping_threshold_fen=9900,
        handling_days=3,
    )
    assert services.shipping_fee_fen(shop=shop, weight_g=2500, amount_fen=5000) == 1400
    assert services.shipping_fee_fen(shop=shop, weight_g=2500, amount_fen=9900) == 0
    services.shop_shipping_set(actor=None, shop=shop, mode="flat", flat_fen=1000)
    assert services.shipping_fee_fen(shop=shop, weight_g=50_000, amount_fen=100) == 1000
    for kwargs, field in [
        ({"mode": "drone"}, "mode"),
        ({"mode": "flat", "flat_fen": -1}, "flat_fen"),
        ({"mode": "flat", "flat_fen": 1_000_001}, "flat_fen"),
        ({"mode": "flat", "free_shipping_threshold_fen": 0}, "free_shipping_threshold_fen"),
        ({"mode": "flat", "handling_days": 31}, "handling_days"),
    ]:
        with pytest.raises(ValidationError) as info:
            services.shop_shipping_set(actor=None, shop=shop, **kwargs)
        assert info.value.field == field


def test_commission_rates(tree):
    tea = Category.objects.get(slug="tea")
    services.category_commission_set(actor=None, category=tea, rate_bp=0)
    assert Category.objects.get(slug="tea").commission_rate_bp == 0
    with pytest.raises(ValidationError):
        services.category_commission_set(actor=None, category=tea, rate_bp=10_001)
    product = factories.product(factories.shop(tree.qianchang))
    assert selectors.commission_rate_bp_for(product=product) == 200
    household = product.shop.household
    household.registered_poor = True
    household.save()
    product = selectors.product_get(product_id=product.pk)
    assert selectors.commission_rate_bp_for(product=product) == 0


def test_ratings_aggregate_on_product_and_shop(tree):
    product = factories.product(factories.shop(tree.qianchang))
    services.product_rating_apply(product=product, stars_delta=9, count_delta=2)
    product.refresh_from_db()
    assert product.rating_average == 4.5 and product.rating_avg_centi == 450
    assert product.shop.__class__.objects.get(pk=product.shop_id).rating_count == 2


def test_seeded_categories_have_three_languages_and_rates(db):
    categories = Category.objects.all()
    assert categories.count() >= 15
    for category in categories:
        assert category.name_zh_hans and category.name_en and category.name_fr
        assert 0 <= category.commission_rate_bp <= 10_000
    assert Category.objects.get(slug="apples").parent.slug == "fruit"

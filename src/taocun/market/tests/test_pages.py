"""Storefront, seller and review pages through the test client: rendering in the three
languages, the seller's forms on a phone, errors shown next to their fields, uploads."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import translation

from taocun.accounts.models import Role
from taocun.core.models import AuditEntry
from taocun.market.models import Product, ProductPhoto, Shop, ShopStatus, Variant
from taocun.market.templatetags.market import month_names
from taocun.market.tests import factories

PAGE_BUDGET_BYTES = 100_000


def storefront_urls(tree, shop, product) -> list[str]:
    return [
        "/market/",
        "/market/search/?q=苹果",
        "/market/search/?q=果&category=fruit&province=33&price_min=10&price_max=99.5"
        "&in_stock=1&poverty=1&certification=organic&sort=price_asc",
        "/market/c/fruit/",
        "/market/c/apples/?sort=newest",
        f"/market/p/{product.pk}/",
        f"/market/shop/{shop.pk}/",
        f"/market/village/{tree.qianchang.code}/",
    ]


@pytest.mark.parametrize(
    ("language", "expected"),
    [("zh-hans", "乡村集市"), ("en", "Village market"), ("fr", "Marché des villages")],
)
def test_storefront_pages_render_in_each_language(orchard, tree, language, expected):
    _keeper, shop, product = orchard
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    for url in storefront_urls(tree, shop, product):
        response = client.get(url)
        assert response.status_code == 200, url
        assert expected in response.content.decode(), url


def test_search_page_finds_and_filters(orchard):
    _keeper, _shop, product = orchard
    html = Client().get("/market/search/", {"q": "苹果"}).content.decode()
    assert f'href="/market/p/{product.pk}/"' in html and "¥39.90" in html
    html = Client().get("/market/search/", {"q": "苹果", "price_min": "40"}).content.decode()
    assert f"/market/p/{product.pk}/" not in html


def test_bad_filters_are_shown_not_crashed(orchard):
    response = Client().get("/market/search/", {"price_min": "abc"})
    assert response.status_code == 400
    assert "abc" in response.content.decode()
    assert Client().get("/market/search/", {"sort": "nope"}).status_code == 400
    assert Client().get("/market/c/durian/").status_code == 404
    assert Client().get("/market/p/999999/").status_code == 404


def test_product_page_shows_variants_origin_and_season(orchard, tree):
    _keeper, _shop, product = orchard
    factories.product(orchard[1], name="丁香梨")
    html = Client(HTTP_ACCEPT_LANGUAGE="en").get(f"/market/p/{product.pk}/").content.decode()
    assert "5 斤装" in html and "2.5 kg" in html and "前仓村委会" in html
    assert "September, October" in html
    assert f'href="/market/village/{tree.qianchang.code}/"' in html


def test_village_page_buys_from_the_village(orchard, tree):
    _keeper, shop, product = orchard
    html = Client().get(f"/market/village/{tree.qianchang.code}/").content.decode()
    assert shop.name in html and product.name in html
    # A county code is not a village: the region page explains it instead.
    response = Client().get(f"/market/village/{tree.yiwu.code}/")
    assert response.status_code == 302 and response.url == f"/regions/{tree.yiwu.code}/"


def test_pages_stay_within_the_weight_budget(orchard, tree, client_for):
    keeper, shop, product = orchard
    client = client_for(keeper)
    urls = [
        *storefront_urls(tree, shop, product),
        "/market/sell/",
        "/market/sell/products/new/",
        f"/market/sell/products/{product.pk}/",
    ]
    for url in urls:
        response = client.get(url)
        html = response.content.decode()
        total = len(response.content)
        for asset in re.findall(r'<(?:link[^>]+href|script[^>]+src)="(/static/[^"]+)"', html):
            total += len(b"".join(client.get(asset).streaming_content))
        assert total < PAGE_BUDGET_BYTES, url
        assert "https://" not in html and "http://" not in html, url


def test_a_seller_opens_a_shop_from_a_phone(tree, client_for):
    keeper = factories.seller(tree.lizu)
    client = client_for(keeper)
    assert "Open a shop" in client.get("/market/sell/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    response = client.post(
        "/market/sell/open/", {"name": "李", "story": "", "categories": ["honey"]}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="field field-error"' in html and "honey" in html  # kept what was typed
    response = client.post(
        "/market/sell/open/", {"name": "李祖蜂场", "story": "养蜂", "categories": ["honey", "tea"]}
    )
    assert response.status_code == 302
    shop = Shop.objects.get(name="李祖蜂场")
    assert shop.status == ShopStatus.PENDING
    assert sorted(c.slug for c in shop.categories.all()) == ["honey", "tea"]
    response = client.post(
        "/market/sell/shipping/",
        {"mode": "flat", "flat": "8", "free_from": "99", "handling_days": "2"},
    )
    assert response.status_code == 302
    shop.refresh_from_db()
    assert (shop.shipping_flat_fen, shop.free_shipping_threshold_fen) == (800, 9900)


def test_a_seller_adds_and_edits_a_product(orchard, client_for):
    keeper, shop, _product = orchard
    client = client_for(keeper)
    form = {
        "name": "库尔勒香梨",
        "category": "pears",
        "origin_village": shop.village_id,
        "harvest_months": ["9", "10"],
        "certifications": ["green_food"],
        "cert_green_food_number": "LB-18",
        "variant_label": "3 斤装",
        "variant_unit": "box",
        "variant_price": "0",
        "variant_weight_kg": "1.6",
        "variant_stock": "50",
    }
    response = client.post("/market/sell/products/new/", form)
    assert response.status_code == 400
    assert 'id="id_variant_price_fen_error"' in response.content.decode()
    # Weights written absurdly are a field error, never a crash.
    for weight in ("1e999999", "-1e999999", "1e-999999", "9" * 5000, "NaN", "Infinity"):
        response = client.post(
            "/market/sell/products/new/",
            {**form, "variant_price": "29.90", "variant_weight_kg": weight},
        )
        assert response.status_code == 400, weight
        assert 'id="id_variant_weight_g_error"' in response.content.decode(), weight
    assert not Product.objects.filter(name="库尔勒香梨").exists()
    response = client.post("/market/sell/products/new/", {**form, "variant_price": "29.90"})
    assert response.status_code == 302
    product = Product.objects.get(name="库尔勒香梨")
    variant = product.variants.get()
    assert (variant.price_fen, variant.weight_g, variant.stock) == (2990, 1600, 50)
    assert product.months == [9, 10] and product.is_listed

    # Price changes; the stock the form showed is unchanged, so it is not rewritten.
    response = client.post(
        f"/market/sell/variants/{variant.pk}/",
        {
            "label": "3 斤装",
            "price": "25",
            "weight_kg": "1.6",
            "stock": "50",
            "stock_shown": "50",
            "unit": "box",
            "is_active": "1",
        },
    )
    assert response.status_code == 302
    variant.refresh_from_db()
    assert variant.price_fen == 2500
    response = client.post(
        f"/market/sell/variants/{variant.pk}/",
        {
            "label": "3 斤装",
            "price": "25",
            "weight_kg": "1.6",
            "stock": "-3",
            "stock_shown": "50",
            "unit": "box",
            "is_active": "1",
        },
    )
    assert response.status_code == 400
    assert Variant.objects.get(pk=variant.pk).stock == 50

    response = client.post(
        f"/market/sell/products/{product.pk}/variants/",
        {
            "variant_label": "10 斤装",
            "variant_unit": "case",
            "variant_price": "79",
            "variant_weight_kg": "5.3",
            "variant_stock": "10",
        },
    )
    assert response.status_code == 302
    assert product.variants.count() == 2


def test_a_seller_cannot_edit_another_shops_product(orchard, tree, client_for):
    _keeper, _shop, product = orchard
    neighbour = factories.seller(tree.qianchang)
    factories.shop(tree.qianchang, name="邻居果园", keeper=neighbour)
    client = client_for(neighbour)
    assert client.get(f"/market/sell/products/{product.pk}/").status_code == 403
    response = client.post(f"/market/sell/products/{product.pk}/", {"name": "偷"})
    assert response.status_code == 403
    variant = product.variants.get()
    response = client.post(f"/market/sell/variants/{variant.pk}/", {"price": "1"})
    assert response.status_code == 403
    assert Variant.objects.get(pk=variant.pk).price_fen == 3990
    assert AuditEntry.objects.filter(action="access.denied", object_id=str(product.pk)).count() == 3


def upload(client, url, data, name="photo.jpg"):
    return client.post(
        url,
        {"photo": SimpleUploadedFile(name, data, content_type="image/jpeg")},
        HTTP_ACCEPT_LANGUAGE="en",
    )


def test_photo_upload_pages(orchard, client_for):
    keeper, _shop, product = orchard
    client = client_for(keeper)
    response = upload(
        client, f"/market/sell/products/{product.pk}/photos/", factories.image_bytes()
    )
    assert response.status_code == 302
    assert upload(client, "/market/sell/photos/", factories.image_bytes("WEBP")).status_code == 302
    photo = ProductPhoto.objects.get()
    html = Client().get(f"/market/p/{product.pk}/").content.decode()
    assert photo.image.url in html
    assert Client().get(photo.thumbnail.url).status_code == 200  # served under /media/
    response = client.post(f"/market/sell/photos/product/{photo.pk}/delete/")
    assert response.status_code == 302 and not ProductPhoto.objects.exists()


def test_bad_uploads_are_explained_and_nothing_is_saved(orchard, client_for):
    keeper, _shop, product = orchard
    client = client_for(keeper)
    url = f"/market/sell/products/{product.pk}/photos/"
    response = upload(client, url, b"GIF89a not really", name="x.gif")
    assert response.status_code == 400
    assert "not a photo we can use" in response.content.decode()
    response = upload(client, url, b"\xff\xd8" + b"\x00" * (50 * 1024 * 1024))
    assert response.status_code == 413
    assert "8 MB at most" in response.content.decode()
    response = upload(client, "/market/sell/photos/", b"\x00" * (9 * 1024 * 1024))
    assert response.status_code == 413
    assert not ProductPhoto.objects.exists() and not product.shop.photos.exists()


def test_uploads_still_check_csrf(orchard):
    keeper, _shop, product = orchard
    client = Client(enforce_csrf_checks=True)
    client.force_login(keeper)
    response = upload(
        client, f"/market/sell/products/{product.pk}/photos/", factories.image_bytes()
    )
    assert response.status_code == 403
    assert not ProductPhoto.objects.exists()


def test_review_pages(tree, client_for):
    shop = factories.shop(tree.qianchang, verified=False)
    agent = factories.reviewer(Role.AGENT, tree.choujiang)
    client = client_for(agent)
    html = client.get("/market/review/").content.decode()
    assert shop.name in html
    response = client.post(f"/market/review/{shop.pk}/verify/", {"next": "https://evil.example/"})
    assert response.status_code == 302 and response.url == "/market/review/"
    shop.refresh_from_db()
    assert shop.status == ShopStatus.VERIFIED
    response = client.post(f"/market/review/{shop.pk}/suspend/", {"reason": ""})
    assert response.status_code == 400
    outsider = client_for(factories.reviewer(Role.AGENT, tree.houzhai))
    assert outsider.post(f"/market/review/{shop.pk}/suspend/", {"reason": "x"}).status_code == 403
    seller = client_for(factories.seller(tree.lizu))
    assert seller.get("/market/review/").status_code == 403


def test_navigation_offers_the_market_by_role(tree, client_for):
    html = Client(HTTP_ACCEPT_LANGUAGE="en").get("/").content.decode()
    assert 'href="/market/"' in html
    keeper = factories.seller(tree.qianchang)
    html = client_for(keeper).get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'href="/market/sell/"' in html
    agent = factories.reviewer(Role.AGENT, tree.choujiang)
    assert 'href="/market/review/"' in client_for(agent).get("/").content.decode()


def test_harvest_months_are_listed_as_the_reader_s_language_lists_them():
    with translation.override("zh-hans"):
        assert month_names([9, 10]) == "九月、十月"
    with translation.override("en"):
        assert month_names([9, 10]) == "September, October"

"""The market API through Django's test client: storefront reads, the seller's writes with
a bearer token, review, and the errors a client gets for bad input."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from taocun.accounts.models import Role
from taocun.accounts.services import api_token_create
from taocun.accounts.tests.factories import UserFactory
from taocun.core.models import AuditEntry
from taocun.market.models import ProductPhoto, Shop, Variant
from taocun.market.tests import factories

API = "/api/v1/market"


class TokenClient:
    """A client that sends a user's bearer token with every request."""

    def __init__(self, user):
        _token, raw = api_token_create(user=user)
        self.client = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    def get(self, path, **params):
        return self.client.get(API + path, params, **self.headers)

    def send(self, method, path, payload=None):
        return getattr(self.client, method)(
            API + path, payload or {}, content_type="application/json", **self.headers
        )

    def upload(self, path, data: bytes, name="photo.jpg"):
        return self.client.post(
            API + path,
            {"photo": SimpleUploadedFile(name, data, content_type="image/jpeg")},
            **self.headers,
        )


@pytest.fixture
def as_keeper(orchard):
    return TokenClient(orchard[0])


def test_categories_in_three_languages(db):
    body = Client().get(f"{API}/categories", HTTP_ACCEPT_LANGUAGE="fr").json()
    fruit = next(c for c in body if c["slug"] == "fruit")
    assert fruit["name"] == "Fruits" and fruit["name_zh_hans"] == "水果"
    assert [c["slug"] for c in fruit["children"]] == ["apples", "citrus", "pears"]
    assert fruit["commission_rate_bp"] == 200


def test_search_without_login(orchard):
    _keeper, shop, product = orchard
    body = Client().get(f"{API}/products", {"q": "苹果", "in_stock": "true"}).json()
    assert body["total"] == 1 and not body["has_next"]
    item = body["items"][0]
    assert item["id"] == product.pk and item["price_min_fen"] == 3990
    assert item["shop_name"] == shop.name and item["village"]["name"] == "前仓村委会"
    assert Client().get(f"{API}/products", {"q": "榴莲"}).json()["items"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "cheap"}, "sort"),
        ({"page_size": 51}, "page_size"),
        ({"page": 0}, "page"),
        ({"price_min": -1}, "price_min"),
        ({"q": "x\x00"}, "q"),
        ({"q": "苹" * 61}, "q"),
        ({"province": "ab"}, "province"),
    ],
)
def test_bad_search_parameters_are_400_naming_the_field(db, params, field):
    response = Client().get(f"{API}/products", params)
    assert response.status_code == 400
    assert response.json()["field"] == field


def test_unknown_category_is_404(db):
    assert Client().get(f"{API}/products", {"category": "durian"}).status_code == 404


def test_a_product_off_sale_is_seen_only_by_its_keepers(orchard, as_keeper):
    _keeper, _shop, product = orchard
    as_keeper.send("patch", f"/products/{product.pk}", {"status": "inactive"})
    assert Client().get(f"{API}/products/{product.pk}").status_code == 404
    body = as_keeper.get(f"/products/{product.pk}").json()
    assert body["status"] == "inactive" and not body["is_listed"]
    assert body["harvest_months"] == [9, 10]


def test_a_seller_opens_a_shop_and_lists_a_product(tree):
    keeper = factories.seller(tree.lizu)
    api = TokenClient(keeper)
    response = api.send(
        "post", "/shops", {"name": "李祖蜂场", "story": "养蜂三十年", "categories": ["honey"]}
    )
    assert response.status_code == 201, response.json()
    shop = response.json()
    assert shop["status"] == "pending" and shop["village"]["code"] == tree.lizu.code
    assert api.send("post", "/shops", {"name": "第二家"}).status_code == 409

    response = api.send(
        "put",
        f"/shops/{shop['id']}/shipping",
        {"mode": "weight", "base_fen": 800, "per_kg_fen": 200, "handling_days": 2},
    )
    assert response.json()["shipping"]["per_kg_fen"] == 200

    response = api.send(
        "post",
        f"/shops/{shop['id']}/products",
        {
            "category": "honey",
            "name": "百花土蜂蜜",
            "harvest_months": [5, 6],
            "certifications": [{"kind": "organic", "number": "ORG-88"}],
            "variants": [
                {"label": "500 克", "unit": "jar", "weight_g": 700, "price_fen": 6800, "stock": 20}
            ],
        },
    )
    assert response.status_code == 201, response.json()
    product = response.json()
    assert product["price_min_fen"] == 6800 and not product["is_listed"]
    assert product["certifications"] == [{"kind": "organic", "number": "ORG-88"}]

    agent = TokenClient(factories.reviewer(Role.AGENT, tree.houzhai))
    queue = agent.get("/review/shops").json()
    assert [s["id"] for s in queue["items"]] == [shop["id"]]
    assert agent.send("post", f"/shops/{shop['id']}/verify").json()["status"] == "verified"
    assert Client().get(f"{API}/products/{product['id']}").json()["is_listed"]


def test_seller_refusals(orchard, tree, as_keeper):
    _keeper, shop, product = orchard
    buyer = TokenClient(UserFactory(roles=[(Role.BUYER, None)], password=None))
    assert buyer.send("post", "/shops", {"name": "买家店"}).status_code == 403

    neighbour = factories.seller(tree.qianchang)
    factories.shop(tree.qianchang, name="邻居家", keeper=neighbour)
    other = TokenClient(neighbour)
    response = other.send("patch", f"/products/{product.pk}", {"name": "偷来的苹果"})
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert AuditEntry.objects.filter(action="access.denied", object_id=str(product.pk)).exists()
    variant = product.variants.get()
    assert other.send("patch", f"/variants/{variant.pk}", {"price_fen": 1}).status_code == 403
    assert other.send("patch", f"/shops/{shop.pk}", {"name": "抢来的店"}).status_code == 403
    assert Client().post(f"{API}/shops", {}, content_type="application/json").status_code == 401


@pytest.mark.parametrize(
    ("variant", "field"),
    [
        ({"price_fen": 0}, "variants.0.price_fen"),
        ({"price_fen": 100_000_001}, "variants.0.price_fen"),
        ({"stock": -5}, "variants.0.stock"),
        ({"weight_g": 0}, "variants.0.weight_g"),
        ({"price_fen": "39.9"}, "variants.0.price_fen"),
    ],
)
def test_bad_prices_and_quantities_are_400(orchard, as_keeper, variant, field):
    _keeper, shop, _product = orchard
    payload = {
        "category": "apples",
        "name": "冰糖心苹果",
        "variants": [{"label": "箱", "weight_g": 5000, "price_fen": 5000, "stock": 1, **variant}],
    }
    response = as_keeper.send("post", f"/shops/{shop.pk}/products", payload)
    assert response.status_code == 400
    assert response.json()["field"] == field


def test_stock_moves_and_never_goes_negative(orchard, as_keeper):
    _keeper, _shop, product = orchard
    variant = product.variants.get()
    response = as_keeper.send("post", f"/variants/{variant.pk}/stock", {"delta": -40})
    assert response.json()["stock"] == 60
    response = as_keeper.send("post", f"/variants/{variant.pk}/stock", {"delta": -61})
    assert response.status_code == 409 and response.json()["code"] == "out_of_stock"
    assert Variant.objects.get(pk=variant.pk).stock == 60
    response = as_keeper.send("patch", f"/variants/{variant.pk}", {"stock": -1})
    assert response.status_code == 400 and response.json()["field"] == "stock"
    response = as_keeper.send("patch", f"/variants/{variant.pk}", {"price_fen": 4590})
    assert response.json()["price_fen"] == 4590 and response.json()["stock"] == 60


def test_photo_upload(orchard, as_keeper):
    _keeper, shop, product = orchard
    response = as_keeper.upload(f"/products/{product.pk}/photos", factories.image_bytes())
    assert response.status_code == 201, response.json()
    photo = response.json()
    assert photo["url"].startswith("/media/market/products/")
    assert photo["thumbnail_url"].endswith("_t.jpg")
    response = as_keeper.client.delete(
        f"{API}/products/{product.pk}/photos/{photo['id']}", **as_keeper.headers
    )
    assert response.status_code == 204
    response = as_keeper.upload(f"/shops/{shop.pk}/photos", factories.image_bytes("PNG"))
    assert response.status_code == 201


def test_bad_photo_uploads_save_nothing(orchard, as_keeper):
    _keeper, _shop, product = orchard
    url = f"/products/{product.pk}/photos"
    response = as_keeper.upload(url, b"%PDF-1.4 not a photo", name="photo.jpg")
    assert response.status_code == 400 and response.json()["code"] == "not_an_image"
    response = as_keeper.upload(url, b"\xff\xd8" + b"\x00" * (50 * 1024 * 1024))
    assert response.status_code == 413 and response.json()["field"] == "photo"
    response = as_keeper.client.post(API + url, {}, **as_keeper.headers)
    assert response.status_code == 400 and response.json()["field"] == "photo"
    assert not ProductPhoto.objects.exists()


def test_review_actions_need_scope(orchard, tree):
    _keeper, shop, _product = orchard
    buyer = TokenClient(UserFactory(roles=[(Role.BUYER, None)], password=None))
    assert buyer.get("/review/shops").status_code == 403
    outsider = TokenClient(factories.reviewer(Role.OFFICER, tree.caoxian))
    assert outsider.get("/review/shops").json()["items"] == []
    response = outsider.send("post", f"/shops/{shop.pk}/suspend", {"reason": "无理由"})
    assert response.status_code == 403
    officer = TokenClient(factories.reviewer(Role.OFFICER, tree.yiwu))
    response = officer.send("post", f"/shops/{shop.pk}/suspend", {"reason": ""})
    assert response.status_code == 400 and response.json()["field"] == "reason"
    response = officer.send("post", f"/shops/{shop.pk}/suspend", {"reason": "农残超标"})
    assert response.json()["status"] == "suspended"
    assert Shop.objects.get(pk=shop.pk).status_reason == "农残超标"
    assert officer.send("post", f"/shops/{shop.pk}/suspend", {"reason": "x"}).status_code == 409

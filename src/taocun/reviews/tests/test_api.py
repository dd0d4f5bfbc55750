"""The reviews API through Django's test client with bearer tokens."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from taocun.accounts.models import Role
from taocun.accounts.services import api_token_create
from taocun.core.models import AuditEntry
from taocun.market.tests import factories as market
from taocun.market.tests.factories import image_bytes
from taocun.reviews import services
from taocun.reviews.models import Review
from taocun.reviews.tests import factories

API = "/api/v1/reviews"


class TokenClient:
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
def as_buyer(buyer):
    return TokenClient(buyer)


def test_create_edit_photo_and_read(as_buyer, line, apples):
    response = as_buyer.send("post", f"/lines/{line.pk}", {"stars": 4, "text": "好吃"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["stars"] == 4 and body["author"] == "李华" and body["reply"] is None
    review_id = body["id"]
    response = as_buyer.send("patch", f"/{review_id}", {"stars": 5})
    assert response.status_code == 200 and response.json()["text"] == "好吃"
    response = as_buyer.upload(f"/{review_id}/photo", image_bytes())
    assert response.status_code == 200, response.json()
    assert response.json()["photo_url"].startswith("/media/reviews/")
    response = as_buyer.client.delete(f"{API}/{review_id}/photo", **as_buyer.headers)
    assert response.json()["photo_url"] is None
    page = Client().get(f"{API}/products/{apples.pk}").json()
    assert page["count"] == 1 and page["items"][0]["stars"] == 5


def test_errors(as_buyer, line):
    response = as_buyer.send("post", f"/lines/{line.pk}", {"stars": 9})
    assert response.status_code == 400 and response.json()["field"] == "stars"
    assert as_buyer.send("post", f"/lines/{line.pk}", {"stars": 3}).status_code == 201
    response = as_buyer.send("post", f"/lines/{line.pk}", {"stars": 3})
    assert response.status_code == 409 and response.json()["code"] == "already_reviewed"
    review = Review.objects.get()
    response = as_buyer.upload(f"/{review.pk}/photo", b"%PDF-1.4 nope")
    assert response.status_code == 400 and response.json()["code"] == "not_an_image"
    response = as_buyer.upload(f"/{review.pk}/photo", b"\xff\xd8" + b"\0" * (50 * 1024 * 1024))
    assert response.status_code == 413 and response.json()["field"] == "photo"
    assert as_buyer.send("post", "/lines/999999", {"stars": 3}).status_code == 404


def test_other_buyer_and_seller_get_403_with_audit(line, keeper, apples):
    other = TokenClient(factories.buyer())
    response = other.send("post", f"/lines/{line.pk}", {"stars": 1})
    assert response.status_code == 403
    assert AuditEntry.objects.filter(action="access.denied", object_id=str(line.pk)).exists()
    own = factories.line(keeper, apples)
    assert TokenClient(keeper).send("post", f"/lines/{own.pk}", {"stars": 5}).status_code == 403
    assert (
        Client()
        .post(f"{API}/lines/{line.pk}", {"stars": 5}, content_type="application/json")
        .status_code
        == 401
    )


def test_reply_report_moderate(buyer, line, keeper, shop, tree):
    review = services.review_create(actor=buyer, line=line, stars=1, text="太小了")
    seller = TokenClient(keeper)
    response = seller.send("put", f"/{review.pk}/reply", {"text": "抱歉，给您补发"})
    assert response.status_code == 200 and response.json()["reply"]["text"] == "抱歉，给您补发"
    assert seller.get("/desk/shop").json()["count"] == 1
    assert TokenClient(buyer).send("put", f"/{review.pk}/reply", {"text": "x"}).status_code == 403

    reporter = TokenClient(factories.buyer())
    response = reporter.send("post", f"/{review.pk}/reports", {"reason": "spam", "note": "广告"})
    assert response.status_code == 201 and response.json()["reason"] == "spam"
    assert reporter.send("post", f"/{review.pk}/reports", {"reason": "spam"}).status_code == 409

    officer = TokenClient(market.reviewer(Role.OFFICER, tree.yiwu))
    queue = officer.get("/moderation/queue").json()
    assert queue["count"] == 1 and queue["items"][0]["open_reports"] == 1
    far = TokenClient(market.reviewer(Role.OFFICER, tree.caoxian))
    assert far.get("/moderation/queue").json()["count"] == 0
    assert far.send("post", f"/{review.pk}/hide", {"reason": "x"}).status_code == 403

    response = officer.send("post", f"/{review.pk}/hide", {"reason": "不实"})
    assert response.status_code == 200 and response.json()["status"] == "hidden"
    shop.refresh_from_db()
    assert shop.rating_count == 0
    assert Client().get(f"{API}/shops/{shop.pk}").json()["count"] == 0
    assert Client().get(f"{API}/{review.pk}").status_code == 404
    assert officer.get("/moderation/queue", status="hidden").json()["count"] == 1
    assert officer.send("post", f"/{review.pk}/unhide").status_code == 200
    shop.refresh_from_db()
    assert shop.rating_count == 1


def test_list_pagination_is_bounded(buyer, apples):
    for _ in range(3):
        services.review_create(actor=buyer, line=factories.line(buyer, apples), stars=5)
    body = Client().get(f"{API}/products/{apples.pk}", {"limit": 2, "offset": 1}).json()
    assert body["count"] == 3 and len(body["items"]) == 2
    response = Client().get(f"{API}/products/{apples.pk}", {"limit": 10**20})
    assert response.status_code == 400 and response.json()["field"] == "limit"

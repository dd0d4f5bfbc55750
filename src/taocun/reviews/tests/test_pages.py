"""The review pages through the real HTTP layer: the buyer's form, the lists on the
market's product and shop pages, the seller's desk, reports and the moderation queue."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from taocun.accounts.models import Role
from taocun.market.tests import factories as market
from taocun.market.tests.factories import image_bytes
from taocun.reviews import services
from taocun.reviews.models import Report, Review, ReviewStatus
from taocun.reviews.tests import factories


def test_buyer_reviews_a_line_with_a_photo(client_for, buyer, line, apples):
    client = client_for(buyer)
    page = client.get(f"/reviews/line/{line.pk}/")
    assert page.status_code == 200 and "烟台红富士苹果" in page.content.decode()
    # Each star choice is named by its number (a screen reader would read "★★★★☆" as
    # five symbols); the stars themselves are decoration.
    assert 'value="4" aria-label="4 星"' in page.content.decode()
    assert '<span class="stars" aria-hidden="true">★★★★☆</span>' in page.content.decode()
    response = client.post(
        f"/reviews/line/{line.pk}/",
        {"stars": "4", "text": "很甜", "photo": SimpleUploadedFile("a.jpg", image_bytes())},
    )
    assert response.status_code == 302 and response.url.startswith("/reviews/mine/")
    review = Review.objects.get()
    assert review.stars == 4 and review.photo
    mine = client.get("/reviews/mine/").content.decode()
    assert "★★★★☆" in mine and f"/reviews/line/{line.pk}/" in mine
    # Second post edits the same review.
    client.post(f"/reviews/line/{line.pk}/", {"stars": "2", "text": "放久了"})
    review.refresh_from_db()
    assert review.stars == 2 and Review.objects.count() == 1
    apples.refresh_from_db()
    assert (apples.rating_sum, apples.rating_count) == (2, 1)


def test_form_errors_keep_what_was_typed(client_for, buyer, line):
    client = client_for(buyer)
    response = client.post(
        f"/reviews/line/{line.pk}/",
        {"stars": "5", "text": "写了很多", "photo": SimpleUploadedFile("a.jpg", b"not a photo")},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "写了很多" in html and 'role="alert"' in html
    assert not Review.objects.exists()


def test_another_user_gets_403(client_for, line):
    response = client_for(factories.buyer()).get(f"/reviews/line/{line.pk}/")
    assert response.status_code == 403


def test_reviews_on_market_product_and_shop_pages(buyer, line, apples, shop):
    services.review_create(actor=buyer, line=line, stars=5, text="脆甜多汁")
    hidden = services.review_create(
        actor=buyer, line=factories.line(buyer, apples), stars=1, text="不该出现"
    )
    services.review_hide(actor=factories.buyer(is_staff=True), review=hidden, reason="x")
    for url in (f"/market/p/{apples.pk}/", f"/market/shop/{shop.pk}/"):
        html = Client().get(url).content.decode()
        assert "脆甜多汁" in html and "不该出现" not in html, url
        assert "★ 5.0" in html
    html = Client().get(f"/reviews/product/{apples.pk}/").content.decode()
    assert "脆甜多汁" in html and "不该出现" not in html
    assert "脆甜多汁" in Client().get(f"/reviews/shop/{shop.pk}/").content.decode()


def test_seller_desk_and_reply(client_for, buyer, line, keeper):
    review = services.review_create(actor=buyer, line=line, stars=3, text="一般")
    client = client_for(keeper)
    assert "一般" in client.get("/reviews/desk/").content.decode()
    response = client.post(f"/reviews/{review.pk}/reply/", {"text": "谢谢反馈"})
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.reply_text == "谢谢反馈"
    assert client_for(buyer).get("/reviews/desk/").status_code == 403
    assert client_for(buyer).post(f"/reviews/{review.pk}/reply/", {"text": "x"}).status_code == 403


def test_report_and_moderate(client_for, buyer, line, tree):
    review = services.review_create(actor=buyer, line=line, stars=1, text="加微信买更便宜")
    reporter = client_for(factories.buyer())
    response = reporter.post(f"/reviews/{review.pk}/report/", {"reason": "spam"})
    assert response.status_code == 200 and Report.objects.count() == 1
    officer = client_for(market.reviewer(Role.OFFICER, tree.yiwu))
    queue = officer.get("/reviews/moderation/").content.decode()
    assert "加微信买更便宜" in queue
    response = officer.post(f"/reviews/{review.pk}/moderate/hide/", {"reason": "广告"})
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.status == ReviewStatus.HIDDEN
    assert client_for(factories.buyer()).get("/reviews/moderation/").status_code == 403
    assert officer.post(f"/reviews/{review.pk}/moderate/nope/").status_code == 404


def test_order_page_links_each_line_to_its_review(client_for, buyer, apples, pears, keeper):
    from django.urls import reverse

    placed = factories.order(buyer, apples, pears)
    first, second = placed.lines.all()
    services.review_create(actor=buyer, line=first, stars=4)
    html = client_for(buyer).get(reverse("orders:detail", args=[placed.pk])).content.decode()
    assert f"/reviews/line/{second.pk}/" in html and "★★★★☆" in html
    shipped = factories.order(buyer, apples, status="shipped")
    html = client_for(buyer).get(reverse("orders:detail", args=[shipped.pk])).content.decode()
    assert "/reviews/line/" not in html

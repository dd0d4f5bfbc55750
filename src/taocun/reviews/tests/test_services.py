"""The review services: create, edit within the window, reply, report, hide and unhide,
and the ratings they keep; notifications to the seller and the buyer."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.translation import override

from taocun.core.errors import Conflict, ValidationError
from taocun.core.models import AuditEntry
from taocun.market.images import PhotoTooLarge
from taocun.market.models import Product, Shop
from taocun.market.tests.factories import image_bytes
from taocun.notifications.models import Notification, NotificationPreference
from taocun.orders.models import OrderStatus
from taocun.reviews import services
from taocun.reviews.models import Report, Review, ReviewStatus
from taocun.reviews.tests import factories


def ratings(obj) -> tuple[int, int]:
    obj.refresh_from_db()
    return obj.rating_sum, obj.rating_count


def test_create_counts_in_product_and_shop_ratings(buyer, line, apples, shop, keeper):
    review = services.review_create(actor=buyer, line=line, stars=4, text="  很甜，很新鲜  ")
    assert review.text == "很甜，很新鲜" and review.status == ReviewStatus.VISIBLE
    assert (review.buyer, review.product, review.shop) == (buyer, apples, shop)
    assert ratings(apples) == (4, 1) and ratings(shop) == (4, 1)
    assert apples.rating_avg_centi == 400
    assert AuditEntry.objects.filter(action="review.create", object_id=str(review.pk)).exists()
    notice = Notification.objects.get(user=keeper, kind="review.created")
    assert "烟台红富士苹果" in notice.title and "★★★★☆" in notice.body
    assert notice.url == "/reviews/desk/"


def test_seller_is_told_in_their_own_language(buyer, line, keeper):
    NotificationPreference.objects.create(user=keeper, language="fr")
    with override("zh-hans"):
        services.review_create(actor=buyer, line=line, stars=5)
    title = Notification.objects.get(user=keeper).title
    assert title.startswith("Nouvel avis"), title


def test_one_review_per_line(buyer, line):
    services.review_create(actor=buyer, line=line, stars=5)
    with pytest.raises(Conflict) as caught:
        services.review_create(actor=buyer, line=line, stars=1)
    assert caught.value.code == "already_reviewed"
    assert Review.objects.count() == 1


@pytest.mark.parametrize("status", [OrderStatus.PAID, OrderStatus.DELIVERED, OrderStatus.REFUNDED])
def test_only_completed_orders(buyer, apples, status):
    line = factories.line(buyer, apples, status=status)
    with pytest.raises(Conflict) as caught:
        services.review_create(actor=buyer, line=line, stars=5)
    assert caught.value.code == "order_not_completed"
    assert ratings(apples) == (0, 0)


@pytest.mark.parametrize("stars", [0, 6, -1, "5", True, None])
def test_stars_must_be_1_to_5(buyer, line, stars):
    with pytest.raises(ValidationError) as caught:
        services.review_create(actor=buyer, line=line, stars=stars)
    assert caught.value.field == "stars"


def test_text_is_bounded(buyer, line):
    with pytest.raises(ValidationError) as caught:
        services.review_create(actor=buyer, line=line, stars=5, text="好" * 1001)
    assert caught.value.field == "text" and "1000" in caught.value.message


def test_photo_is_validated_resized_and_stored(buyer, line):
    review = services.review_create(
        actor=buyer, line=line, stars=5, photo=image_bytes(size=(2400, 1600))
    )
    assert review.photo.name.startswith(f"reviews/{line.product_id}/")
    assert review.photo_thumbnail.name.endswith("_t.jpg")
    assert default_storage.exists(review.photo.name)
    from PIL import Image

    with default_storage.open(review.photo.name) as handle:
        assert max(Image.open(handle).size) == 1200


def test_bad_photos_are_refused_and_nothing_is_kept(buyer, line, apples):
    with pytest.raises(ValidationError) as caught:
        services.review_create(actor=buyer, line=line, stars=5, photo=b"%PDF-1.4 not a photo")
    assert caught.value.code == "not_an_image" and caught.value.field == "photo"
    with pytest.raises(PhotoTooLarge) as caught:
        services.review_create(actor=buyer, line=line, stars=5, photo=b"\0" * (50 * 1024 * 1024))
    assert caught.value.http_status == 413 and "8 MB" in caught.value.message
    assert not Review.objects.exists() and ratings(apples) == (0, 0)
    assert not default_storage.exists("reviews")


def test_edit_moves_ratings_by_the_difference(buyer, line, apples, shop):
    review = services.review_create(actor=buyer, line=line, stars=2)
    edited = services.review_edit(actor=buyer, review=review, stars=5, text="后来熟了，很好吃")
    assert edited.stars == 5 and edited.edited_at is not None
    assert ratings(apples) == (5, 1) and ratings(shop) == (5, 1)
    entry = AuditEntry.objects.get(action="review.edit")
    assert entry.before["stars"] == 2 and entry.after["stars"] == 5


def test_edit_window_closes(buyer, line, settings):
    settings.REVIEWS_EDIT_WINDOW_DAYS = 7
    review = services.review_create(actor=buyer, line=line, stars=2)
    Review.objects.filter(pk=review.pk).update(created_at=timezone.now() - timedelta(days=8))
    review.refresh_from_db()
    with pytest.raises(Conflict) as caught:
        services.review_edit(actor=buyer, review=review, stars=5)
    assert caught.value.code == "edit_window_closed" and "7" in caught.value.message


def test_photo_replaced_and_removed(buyer, line, django_capture_on_commit_callbacks):
    review = services.review_create(actor=buyer, line=line, stars=5, photo=image_bytes())
    first = review.photo.name
    with django_capture_on_commit_callbacks(execute=True):
        review = services.review_edit(actor=buyer, review=review, photo=image_bytes("PNG"))
    assert review.photo.name != first and not default_storage.exists(first)
    with django_capture_on_commit_callbacks(execute=True):
        review = services.review_edit(actor=buyer, review=review, photo_remove=True)
    assert not review.photo


def test_reply_once_then_edit(buyer, line, keeper):
    review = services.review_create(actor=buyer, line=line, stars=3)
    replied = services.review_reply(actor=keeper, review=review, text="谢谢，下次给您挑大的")
    assert replied.reply_at is not None and replied.reply_edited_at is None
    again = services.review_reply(actor=keeper, review=replied, text="谢谢惠顾！")
    assert again.reply_text == "谢谢惠顾！" and again.reply_at == replied.reply_at
    assert again.reply_edited_at is not None
    notices = Notification.objects.filter(user=buyer, kind="review.replied")
    assert notices.count() == 1 and "前仓果园" in notices.get().title
    assert notices.get().url == f"/reviews/product/{review.product_id}/#review-{review.pk}"
    with pytest.raises(ValidationError):
        services.review_reply(actor=keeper, review=review, text="   ")


def test_report_once_per_user(buyer, line):
    review = services.review_create(actor=buyer, line=line, stars=1, text="垃圾")
    reporter = factories.buyer()
    services.review_report(actor=reporter, review=review, reason="offensive")
    with pytest.raises(Conflict) as caught:
        services.review_report(actor=reporter, review=review, reason="spam")
    assert caught.value.code == "already_reported"
    with pytest.raises(ValidationError) as caught:
        services.review_report(actor=factories.buyer(), review=review, reason="nonsense")
    assert caught.value.field == "reason"
    with pytest.raises(ValidationError) as caught:
        services.review_report(actor=factories.buyer(), review=review, reason="other")
    assert caught.value.field == "note"
    assert Report.objects.count() == 1


def test_hide_and_unhide_move_the_review_out_of_and_into_the_ratings(buyer, line, apples, shop):
    review = services.review_create(actor=buyer, line=line, stars=1)
    other = services.review_create(actor=buyer, line=factories.line(buyer, apples), stars=5)
    services.review_report(actor=factories.buyer(), review=review, reason="spam")
    moderator = factories.buyer(is_staff=True)
    hidden = services.review_hide(actor=moderator, review=review, reason="广告")
    assert hidden.status == ReviewStatus.HIDDEN and hidden.moderated_by == moderator
    assert ratings(apples) == (5, 1) and ratings(shop) == (5, 1)
    assert not Report.objects.filter(resolved_at__isnull=True).exists()
    with pytest.raises(Conflict):
        services.review_hide(actor=moderator, review=review, reason="again")
    # A hidden review's edit changes nothing in the ratings.
    services.review_edit(actor=buyer, review=hidden, stars=3)
    assert ratings(apples) == (5, 1)
    services.review_unhide(actor=moderator, review=review)
    assert ratings(apples) == (8, 2) and ratings(shop) == (8, 2)
    with pytest.raises(Conflict):
        services.review_unhide(actor=moderator, review=review)
    with pytest.raises(ValidationError):
        services.review_hide(actor=moderator, review=other, reason="")


def test_dismissing_reports_keeps_the_review(buyer, line, apples):
    review = services.review_create(actor=buyer, line=line, stars=4)
    services.review_report(actor=factories.buyer(), review=review, reason="false")
    assert services.review_reports_dismiss(actor=factories.buyer(is_staff=True), review=review) == 1
    review.refresh_from_db()
    assert review.status == ReviewStatus.VISIBLE and ratings(apples) == (4, 1)


def test_shop_rating_spans_its_products(buyer, apples, pears, shop):
    services.review_create(actor=buyer, line=factories.line(buyer, apples), stars=5)
    services.review_create(actor=buyer, line=factories.line(buyer, pears), stars=2)
    assert ratings(shop) == (7, 2)
    assert ratings(apples) == (5, 1) and ratings(pears) == (2, 1)
    assert Shop.objects.get(pk=shop.pk).rating_average == 3.5
    assert Product.objects.get(pk=pears.pk).rating_avg_centi == 200


def test_review_of_an_order_completed_through_orders(
    apples, keeper, django_capture_on_commit_callbacks
):
    """End to end with the orders services: placed, paid, shipped, delivered, confirmed."""
    from taocun.orders import services as orders
    from taocun.orders.tests import factories as order_factories

    buyer = order_factories.buyer()
    order_factories.address(buyer)
    checkout = order_factories.place(buyer, (apples.variants.get(), 1))
    with django_capture_on_commit_callbacks(execute=True):
        order_factories.pay(checkout)
    placed = checkout.orders.get()
    line = placed.lines.get()
    with pytest.raises(Conflict):
        services.review_create(actor=buyer, line=line, stars=5)
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_ship(order=placed, actor=keeper, carrier="顺丰", tracking_number="SF1")
        orders.order_deliver(order=placed, actor=keeper)
        orders.order_confirm(order=placed, actor=buyer)
    placed.refresh_from_db()
    assert placed.status == OrderStatus.COMPLETED
    services.review_create(actor=buyer, line=line, stars=5)
    assert ratings(apples) == (5, 1)

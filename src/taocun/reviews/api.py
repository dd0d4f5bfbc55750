"""The reviews API: reviews of a product or shop (no login), the buyer's create and edit
(photo as ``multipart/form-data`` on its own endpoint, field ``photo``), the seller's
reply, reports, and moderation. Every write goes through the same
:mod:`taocun.reviews.access` check as the pages (a refusal is a 403 and an audit entry).
"""

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate

from taocun.core.pagination import BoundedLimitOffsetPagination
from taocun.market import selectors as market_selectors
from taocun.market.access import access_product_view, access_shop_view
from taocun.market.api import PHOTO_UPLOAD, viewer
from taocun.market.uploads import upload_guard, uploaded_photo
from taocun.reviews import selectors, services
from taocun.reviews.access import (
    access_moderation_queue,
    access_review_create,
    access_review_desk,
    access_review_edit,
    access_review_moderate,
    access_review_reply,
    access_review_report,
    access_review_view,
)
from taocun.reviews.models import Review
from taocun.reviews.schemas import (
    HideIn,
    ModerationItemOut,
    ReplyIn,
    ReportIn,
    ReportOut,
    ReviewCreateIn,
    ReviewOut,
    ReviewUpdateIn,
)

router = Router()


class QueueIn(Schema):
    status: str = "open"


def _review(review_id: int) -> Review:
    return selectors.review_get(review_id=review_id)


# --- public reads -----------------------------------------------------------------------


@router.get(
    "/products/{product_id}", response=list[ReviewOut], auth=viewer, summary="Product reviews"
)
@paginate(BoundedLimitOffsetPagination)
def product_reviews(request: HttpRequest, product_id: int) -> QuerySet[Review]:
    """Visible reviews of a product, newest first."""
    product = access_product_view(
        user=request.user, product=market_selectors.product_get(product_id=product_id)
    )
    return selectors.reviews_for_product(product_id=product.pk)


@router.get("/shops/{shop_id}", response=list[ReviewOut], auth=viewer, summary="Shop reviews")
@paginate(BoundedLimitOffsetPagination)
def shop_reviews(request: HttpRequest, shop_id: int) -> QuerySet[Review]:
    """Visible reviews of every product of a shop, newest first."""
    shop = access_shop_view(user=request.user, shop=market_selectors.shop_get(shop_id=shop_id))
    return selectors.reviews_for_shop(shop_id=shop.pk)


@router.get("/{review_id}", response=ReviewOut, auth=viewer, summary="One review")
def review_detail(request: HttpRequest, review_id: int) -> Review:
    return access_review_view(user=request.user, review=_review(review_id))


# --- the buyer --------------------------------------------------------------------------


@router.post("/lines/{line_id}", response={201: ReviewOut}, summary="Review an order line")
def review_create(request: HttpRequest, line_id: int, payload: ReviewCreateIn) -> Status:
    """Only the buyer of a line of a completed order; once per line (409
    `already_reviewed`; change it with PATCH)."""
    line = access_review_create(user=request.auth, line=selectors.line_get(line_id=line_id))
    review = services.review_create(
        actor=request.auth, line=line, stars=payload.stars, text=payload.text
    )
    return Status(201, _review(review.pk))


@router.patch("/{review_id}", response=ReviewOut, summary="Change my review")
def review_update(request: HttpRequest, review_id: int, payload: ReviewUpdateIn) -> Review:
    """Within the edit window (409 `edit_window_closed` after it)."""
    review = access_review_edit(user=request.auth, review=_review(review_id))
    services.review_edit(actor=request.auth, review=review, stars=payload.stars, text=payload.text)
    return _review(review_id)


@router.post(
    "/{review_id}/photo",
    response=ReviewOut,
    summary="Add or replace my review's photo",
    openapi_extra=PHOTO_UPLOAD,
)
def review_photo_set(request: HttpRequest, review_id: int) -> Review:
    upload_guard(request)
    review = access_review_edit(user=request.auth, review=_review(review_id))
    services.review_edit(actor=request.auth, review=review, photo=uploaded_photo(request))
    return _review(review_id)


@router.delete("/{review_id}/photo", response=ReviewOut, summary="Remove my review's photo")
def review_photo_remove(request: HttpRequest, review_id: int) -> Review:
    review = access_review_edit(user=request.auth, review=_review(review_id))
    services.review_edit(actor=request.auth, review=review, photo_remove=True)
    return _review(review_id)


# --- the seller -------------------------------------------------------------------------


@router.get("/desk/shop", response=list[ReviewOut], summary="My shop's reviews")
@paginate(BoundedLimitOffsetPagination)
def desk(request: HttpRequest, unanswered: bool = False) -> QuerySet[Review]:
    shop = access_review_desk(user=request.auth)
    return selectors.reviews_for_desk(shop_id=shop.pk, unanswered=unanswered)


@router.put("/{review_id}/reply", response=ReviewOut, summary="Reply to a review")
def review_reply(request: HttpRequest, review_id: int, payload: ReplyIn) -> Review:
    """The shop's one reply; sending it again changes it."""
    review = access_review_reply(user=request.auth, review=_review(review_id))
    services.review_reply(actor=request.auth, review=review, text=payload.text)
    return _review(review_id)


# --- reports and moderation -------------------------------------------------------------


@router.post("/{review_id}/reports", response={201: ReportOut}, summary="Report a review")
def review_report(request: HttpRequest, review_id: int, payload: ReportIn) -> Status:
    review = access_review_report(user=request.auth, review=_review(review_id))
    report = services.review_report(
        actor=request.auth, review=review, reason=payload.reason, note=payload.note
    )
    return Status(201, report)


@router.get("/moderation/queue", response=list[ModerationItemOut], summary="Moderation queue")
@paginate(BoundedLimitOffsetPagination)
def moderation_queue(request: HttpRequest, filters: Query[QueueIn]) -> QuerySet[Review]:
    """Reviews with open reports in the caller's area (``status=hidden``: hidden ones)."""
    prefixes = access_moderation_queue(user=request.auth)
    return selectors.moderation_queue(prefixes=prefixes, status=filters.status)


@router.post("/{review_id}/hide", response=ReviewOut, summary="Hide a review")
def review_hide(request: HttpRequest, review_id: int, payload: HideIn) -> Review:
    review = access_review_moderate(user=request.auth, review=_review(review_id))
    services.review_hide(actor=request.auth, review=review, reason=payload.reason)
    return _review(review_id)


@router.post("/{review_id}/unhide", response=ReviewOut, summary="Show a hidden review again")
def review_unhide(request: HttpRequest, review_id: int) -> Review:
    review = access_review_moderate(user=request.auth, review=_review(review_id))
    services.review_unhide(actor=request.auth, review=review)
    return _review(review_id)


@router.post("/{review_id}/dismiss", response=ReviewOut, summary="Dismiss a review's reports")
def review_reports_dismiss(request: HttpRequest, review_id: int) -> Review:
    review = access_review_moderate(user=request.auth, review=_review(review_id))
    services.review_reports_dismiss(actor=request.auth, review=review)
    return _review(review_id)

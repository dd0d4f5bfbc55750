"""Reads of reviews: the public lists of a product and a shop, the buyer's lines to
review, the seller's desk and the moderation queue. Each list is one query (authors,
products and shops joined, report counts aggregated in the database)."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from taocun.core.errors import NotFound
from taocun.orders.models import OrderLine, OrderStatus
from taocun.reviews.access import moderation_filter
from taocun.reviews.models import Review, ReviewStatus


def _with_relations(reviews: QuerySet[Review]) -> QuerySet[Review]:
    return reviews.select_related("buyer", "product", "shop", "line")


def review_get(*, review_id: int) -> Review:
    review = _with_relations(Review.objects.filter(pk=review_id)).select_related("shop__village")
    found = review.first()
    if found is None:
        raise NotFound(_("There is no review %(id)s.") % {"id": review_id}, field="review")
    return found


def reviews_for_product(*, product_id: int) -> QuerySet[Review]:
    """Visible reviews of a product, newest first."""
    return _with_relations(
        Review.objects.filter(product_id=product_id, status=ReviewStatus.VISIBLE)
    ).order_by("-id")


def reviews_for_shop(*, shop_id: int) -> QuerySet[Review]:
    """Visible reviews of every product of a shop, newest first."""
    return _with_relations(
        Review.objects.filter(shop_id=shop_id, status=ReviewStatus.VISIBLE)
    ).order_by("-id")


def reviews_for_desk(*, shop_id: int, unanswered: bool = False) -> QuerySet[Review]:
    """All reviews of a shop for its sellers (hidden ones too, marked), unanswered first
    when asked."""
    reviews = _with_relations(Review.objects.filter(shop_id=shop_id))
    if unanswered:
        reviews = reviews.filter(reply_at__isnull=True)
    return reviews.order_by("-id")


def moderation_queue(*, prefixes: list[str] | None, status: str = "open") -> QuerySet[Review]:
    """Reviews in the moderator's scope: with open reports (``open``, most reported
    first) or hidden (``hidden``)."""
    reviews = _with_relations(Review.objects.filter(moderation_filter(prefixes)))
    reviews = reviews.prefetch_related("reports").annotate(
        open_reports=Count("reports", filter=Q(reports__resolved_at__isnull=True))
    )
    if status == "hidden":
        return reviews.filter(status=ReviewStatus.HIDDEN).order_by("-moderated_at", "-id")
    return reviews.filter(open_reports__gt=0).order_by("-open_reports", "-id")


def lines_to_review(*, buyer) -> QuerySet[OrderLine]:
    """The buyer's lines of completed orders, newest order first, each with its review
    (``line.review`` or none) in the same query."""
    return (
        OrderLine.objects.filter(order__buyer=buyer, order__status=OrderStatus.COMPLETED)
        .select_related("order__shop", "review")
        .order_by("-order_id", "id")
    )


def line_get(*, line_id: int) -> OrderLine:
    line = (
        OrderLine.objects.select_related("order__shop", "order__buyer", "product")
        .filter(pk=line_id)
        .first()
    )
    if line is None:
        raise NotFound(_("There is no order line %(id)s.") % {"id": line_id}, field="line")
    return line


def review_of_line(*, line: OrderLine) -> Review | None:
    return Review.objects.filter(line_id=line.pk).first()

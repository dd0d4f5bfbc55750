"""Template tags that put reviews on other apps' pages without changing their views:
``{% product_reviews product %}`` and ``{% shop_reviews shop %}`` (the market's product and
shop pages include them through ``reviews/_product_reviews.html`` and
``reviews/_shop_reviews.html``), and ``{% line_review_link line %}`` for the buyer's
order page."""

from django import template

from taocun.reviews import selectors, services
from taocun.reviews.models import STARS_MAX

register = template.Library()

LIST_PREVIEW = 5


def review_author(user) -> str:
    """The name shown with a review: the display name, else the phone number masked to its
    first three and last four digits (a reviewer's number is never shown whole)."""
    if user.display_name:
        return user.display_name
    digits = "".join(ch for ch in user.phone if ch.isdigit())[-11:]
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 7 else "****"


@register.filter
def author(user) -> str:
    return review_author(user)


@register.filter
def star_row(stars: int | None) -> str:
    """``4`` → ``★★★★☆``."""
    count = int(stars or 0)
    return "★" * count + "☆" * (STARS_MAX - count)


def _summary(obj) -> dict:
    average = obj.rating_sum / obj.rating_count if obj.rating_count else None
    return {"average": average, "count": obj.rating_count}


@register.inclusion_tag("reviews/_review_block.html")
def product_reviews(product) -> dict:
    reviews = list(selectors.reviews_for_product(product_id=product.pk)[: LIST_PREVIEW + 1])
    return {
        "summary": _summary(product),
        "reviews": reviews[:LIST_PREVIEW],
        "more": len(reviews) > LIST_PREVIEW,
        "all_url_name": "reviews:product",
        "target_id": product.pk,
        "show_product": False,
    }


@register.inclusion_tag("reviews/_review_block.html")
def shop_reviews(shop) -> dict:
    reviews = list(selectors.reviews_for_shop(shop_id=shop.pk)[: LIST_PREVIEW + 1])
    return {
        "summary": _summary(shop),
        "reviews": reviews[:LIST_PREVIEW],
        "more": len(reviews) > LIST_PREVIEW,
        "all_url_name": "reviews:shop",
        "target_id": shop.pk,
        "show_product": True,
    }


@register.inclusion_tag("reviews/_line_link.html", takes_context=True)
def line_review_link(context, line) -> dict:
    """For the buyer of a completed order: "Review", "Change review" while the edit window
    is open, or the stars given. Nothing for anyone else or another status."""
    user = getattr(context.get("request"), "user", None)
    order = line.order
    if user is None or order.buyer_id != getattr(user, "pk", None) or order.status != "completed":
        return {"show": False}
    try:
        review = line.review
    except line.__class__.review.RelatedObjectDoesNotExist:
        review = None
    return {
        "show": True,
        "line": line,
        "review": review,
        "editable": review is None or services.review_is_editable(review),
    }

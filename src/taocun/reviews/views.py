"""Review pages: the buyer's form from a completed order line, the full lists of a product's
and a shop's reviews, the seller's review desk, reporting, and the moderation queue.

Views parse the form, check access with :mod:`taocun.reviews.access`, call one service or
selector and render. A ValidationError is shown on the form, which keeps what was typed;
other ApplicationErrors go to the error page through the middleware. Plain forms without
script: they must work on a cheap phone.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from taocun.core.errors import NotFound, ValidationError
from taocun.market import selectors as market_selectors
from taocun.market.access import access_product_view, access_shop_view
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
)
from taocun.reviews.models import REPLY_MAX, TEXT_MAX, ReportReason

PAGE_SIZE = 20
STAR_CHOICES = range(5, 0, -1)


def _form_error(request, template: str, context: dict, error: ValidationError) -> HttpResponse:
    return render(request, template, {**context, "error": error}, status=error.http_status)


def _stars_from(text: str | None) -> int:
    try:
        return int(text or "")
    except ValueError:
        raise ValidationError(_("Give 1 to 5 stars."), field="stars") from None


def _page(request: HttpRequest, items) -> object:
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


# --- the buyer --------------------------------------------------------------------------


@csrf_exempt
def line_review(request: HttpRequest, line_id: int) -> HttpResponse:
    """csrf_exempt so that the photo's upload limit applies before the body is read; the
    CSRF check runs right after, in ``_line_review`` (as in market's photo pages)."""
    if request.method == "POST":
        upload_guard(request)
    return _line_review(request, line_id)


@login_required
@csrf_protect
@require_http_methods(["GET", "POST"])
def _line_review(request: HttpRequest, line_id: int) -> HttpResponse:
    line = access_review_create(user=request.user, line=selectors.line_get(line_id=line_id))
    review = selectors.review_of_line(line=line)
    context = {
        "line": line,
        "review": review,
        "stars_choices": STAR_CHOICES,
        "text_max": TEXT_MAX,
        "editable_until": services.review_editable_until(review) if review else None,
        "editable": review is None or services.review_is_editable(review),
        "values": {"stars": review.stars if review else 5, "text": review.text if review else ""},
    }
    if request.method == "POST":
        values = {"stars": request.POST.get("stars", ""), "text": request.POST.get("text", "")}
        context["values"] = values
        try:
            # Reading FILES first runs the limited upload handler (it flags a too-large one).
            sent = request.FILES.get("photo") is not None
            too_large = getattr(request, "market_upload_too_large", False)
            photo = uploaded_photo(request) if sent or too_large else None
            stars = _stars_from(values["stars"])
            if review is None:
                services.review_create(
                    actor=request.user, line=line, stars=stars, text=values["text"], photo=photo
                )
            else:
                access_review_edit(user=request.user, review=review)
                services.review_edit(
                    actor=request.user,
                    review=review,
                    stars=stars,
                    text=values["text"],
                    photo=photo,
                    photo_remove=request.POST.get("photo_remove") == "1",
                )
        except ValidationError as error:
            return _form_error(request, "reviews/line_review.html", context, error)
        return redirect(reverse("reviews:mine") + f"#line-{line.pk}")
    return render(request, "reviews/line_review.html", context)


@login_required
@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    """The buyer's items from completed orders, to review or with their review."""
    page = _page(request, selectors.lines_to_review(buyer=request.user))
    return render(request, "reviews/mine.html", {"page": page})


# --- public lists -----------------------------------------------------------------------


@require_GET
def product(request: HttpRequest, product_id: int) -> HttpResponse:
    item = access_product_view(
        user=request.user, product=market_selectors.product_get(product_id=product_id)
    )
    page = _page(request, selectors.reviews_for_product(product_id=item.pk))
    return render(
        request,
        "reviews/list.html",
        {
            "title": item.name,
            "target": item,
            "page": page,
            "back": reverse("market:product", args=[item.pk]),
            "show_product": False,
        },
    )


@require_GET
def shop(request: HttpRequest, shop_id: int) -> HttpResponse:
    current = access_shop_view(user=request.user, shop=market_selectors.shop_get(shop_id=shop_id))
    page = _page(request, selectors.reviews_for_shop(shop_id=current.pk))
    return render(
        request,
        "reviews/list.html",
        {
            "title": current.name,
            "target": current,
            "page": page,
            "back": reverse("market:shop", args=[current.pk]),
            "show_product": True,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest, review_id: int) -> HttpResponse:
    review = access_review_report(
        user=request.user, review=selectors.review_get(review_id=review_id)
    )
    context = {"review": review, "reasons": ReportReason.choices, "values": {}}
    if request.method == "POST":
        values = {"reason": request.POST.get("reason", ""), "note": request.POST.get("note", "")}
        context["values"] = values
        try:
            services.review_report(
                actor=request.user, review=review, reason=values["reason"], note=values["note"]
            )
        except ValidationError as error:
            return _form_error(request, "reviews/report.html", context, error)
        return render(request, "reviews/report.html", {**context, "done": True})
    return render(request, "reviews/report.html", context)


# --- the seller -------------------------------------------------------------------------


@login_required
@require_GET
def desk(request: HttpRequest) -> HttpResponse:
    current = access_review_desk(user=request.user)
    unanswered = request.GET.get("unanswered") == "1"
    page = _page(request, selectors.reviews_for_desk(shop_id=current.pk, unanswered=unanswered))
    return render(
        request,
        "reviews/desk.html",
        {"shop": current, "page": page, "unanswered": unanswered, "reply_max": REPLY_MAX},
    )


@login_required
@require_POST
def reply(request: HttpRequest, review_id: int) -> HttpResponse:
    review = access_review_reply(
        user=request.user, review=selectors.review_get(review_id=review_id)
    )
    try:
        services.review_reply(actor=request.user, review=review, text=request.POST.get("text", ""))
    except ValidationError as error:
        page = _page(request, [review])
        return _form_error(
            request,
            "reviews/desk.html",
            {"shop": review.shop, "page": page, "reply_max": REPLY_MAX, "failed": review.pk},
            error,
        )
    return redirect(reverse("reviews:desk") + f"#review-{review.pk}")


# --- moderators -------------------------------------------------------------------------


@login_required
@require_GET
def moderation(request: HttpRequest) -> HttpResponse:
    prefixes = access_moderation_queue(user=request.user)
    status = "hidden" if request.GET.get("status") == "hidden" else "open"
    page = _page(request, selectors.moderation_queue(prefixes=prefixes, status=status))
    return render(request, "reviews/moderation.html", {"page": page, "status": status})


@login_required
@require_POST
def moderate(request: HttpRequest, review_id: int, action: str) -> HttpResponse:
    review = access_review_moderate(
        user=request.user, review=selectors.review_get(review_id=review_id)
    )
    actions = {
        "hide": lambda: services.review_hide(
            actor=request.user, review=review, reason=request.POST.get("reason", "")
        ),
        "unhide": lambda: services.review_unhide(actor=request.user, review=review),
        "dismiss": lambda: services.review_reports_dismiss(actor=request.user, review=review),
    }
    if action not in actions:
        raise NotFound(_("Unknown action."))
    actions[action]()
    return redirect("reviews:moderation")

"""Every write of reviews: create and edit (with the optional photo), the seller's reply,
reports, and moderation (hide, put back, dismiss reports).

Services are keyword-only, own their transaction, validate (raising the ApplicationError
family with the field at fault) and write an audit entry. They do not check who is asking:
pages and the API call the :mod:`taocun.reviews.access` check first and pass the actor.

**The rating invariant.** ``Product.rating_sum``/``rating_count`` and the shop's are the sum
of stars and the number of *visible* reviews. Every change that moves a visible review's
stars, or a review in or out of sight, applies exactly that difference through
``market.services.product_rating_apply`` in the same transaction, with the review row
locked, so concurrent edits and moderation cannot count a review twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from taocun.core.errors import Conflict, ValidationError
from taocun.core.services import audit_record
from taocun.market.images import photo_process
from taocun.market.services import product_rating_apply
from taocun.notifications.recipients import in_recipient_language
from taocun.notifications.services import notify
from taocun.orders.models import Order, OrderLine, OrderStatus
from taocun.reviews.models import (
    NOTE_MAX,
    REASON_MAX,
    REPLY_MAX,
    STARS_MAX,
    STARS_MIN,
    TEXT_MAX,
    Report,
    ReportReason,
    Review,
    ReviewStatus,
)

EDIT_WINDOW_DAYS_DEFAULT = 30
NOTIFY_EXCERPT_CHARS = 200


def edit_window_days() -> int:
    """How long after writing it a buyer may change a review (``REVIEWS_EDIT_WINDOW_DAYS``,
    read per call so tests and deployments can change it)."""
    return int(getattr(settings, "REVIEWS_EDIT_WINDOW_DAYS", EDIT_WINDOW_DAYS_DEFAULT))


def review_editable_until(review: Review) -> datetime:
    return review.created_at + timedelta(days=edit_window_days())


def review_is_editable(review: Review, *, now: datetime | None = None) -> bool:
    return (now or timezone.now()) <= review_editable_until(review)


# --- validation -------------------------------------------------------------------------


def _stars(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(_("Give 1 to 5 stars."), field="stars")
    if not STARS_MIN <= value <= STARS_MAX:
        raise ValidationError(_("Give 1 to 5 stars."), field="stars")
    return value


def _bounded(value: str | None, *, field: str, limit: int, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationError(_("This field is required."), field=field)
    if len(text) > limit:
        raise ValidationError(
            _("At most %(limit)d characters (got %(count)d).")
            % {"limit": limit, "count": len(text)},
            field=field,
        )
    return text


def _stars_text(stars: int) -> str:
    return "★" * stars + "☆" * (STARS_MAX - stars)


# --- photos -----------------------------------------------------------------------------


def _photo_save(*, data: bytes, product_id: int) -> list[str]:
    """Validate and resize through market's photo checks, then write the display image and
    the thumbnail. Done before the transaction (it takes time, and on SQLite a transaction
    holds the write lock); callers delete the files again if their transaction fails."""
    processed = photo_process(data=data, field="photo")
    stem = f"reviews/{product_id}/{uuid.uuid4().hex}"
    saved: list[str] = []
    try:
        saved.append(default_storage.save(f"{stem}.jpg", ContentFile(processed.display)))
        saved.append(default_storage.save(f"{stem}_t.jpg", ContentFile(processed.thumbnail)))
    except BaseException:
        _files_delete(saved)
        raise
    return saved


def _files_delete(names: list[str]) -> None:
    for name in names:
        if name:
            default_storage.delete(name)


# --- create and edit --------------------------------------------------------------------


def _check_reviewable(order: Order) -> None:
    if order.status != OrderStatus.COMPLETED:
        raise Conflict(
            _("You can review an order once it is completed (this one is %(status)s).")
            % {"status": order.get_status_display()},
            code="order_not_completed",
        )


def review_create(
    *, actor, line: OrderLine, stars: int, text: str = "", photo: bytes | None = None
) -> Review:
    """Rate and review one line of a completed order; one review per line. The review
    counts in the product's and the shop's ratings at once, and the seller is told."""
    stars = _stars(stars)
    text = _bounded(text, field="text", limit=TEXT_MAX, required=False)
    order = Order.objects.select_related("shop", "seller").get(pk=line.order_id)
    _check_reviewable(order)
    if Review.objects.filter(line_id=line.pk).exists():
        raise _already_reviewed()
    saved = _photo_save(data=photo, product_id=line.product_id) if photo is not None else []
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    review = Review.objects.create(
                        line=line,
                        buyer_id=order.buyer_id,
                        product_id=line.product_id,
                        shop_id=order.shop_id,
                        stars=stars,
                        text=text,
                        photo=saved[0] if saved else "",
                        photo_thumbnail=saved[1] if saved else "",
                    )
            except IntegrityError:
                raise _already_reviewed() from None
            product_rating_apply(product=line.product, stars_delta=stars, count_delta=1)
            audit_record(
                actor=actor,
                action="review.create",
                obj=review,
                after={"line": line.pk, "stars": stars, "photo": bool(saved)},
            )
            _notify_seller(review=review, order=order, line=line)
    except BaseException:
        _files_delete(saved)
        raise
    return review


def _already_reviewed() -> Conflict:
    return Conflict(
        _("You have already reviewed this item; change your review instead."),
        code="already_reviewed",
    )


def _notify_seller(*, review: Review, order: Order, line: OrderLine) -> None:
    seller = order.seller
    with in_recipient_language(seller):
        notify(
            user=seller,
            kind="review.created",
            title=_("New %(stars)d-star review of %(product)s")
            % {"stars": review.stars, "product": line.product_name},
            body=f"{_stars_text(review.stars)} {review.text[:NOTIFY_EXCERPT_CHARS]}".strip(),
            url=reverse("reviews:desk"),
            context={"review": review.pk, "product": line.product_id},
            dedupe_key=f"review.created:{review.pk}",
        )


def review_edit(
    *,
    actor,
    review: Review,
    stars: int | None = None,
    text: str | None = None,
    photo: bytes | None = None,
    photo_remove: bool = False,
) -> Review:
    """Change a review within the edit window. A visible review's new stars move the
    ratings by the difference; a replaced or removed photo's files go after commit."""
    if not review_is_editable(review):
        raise Conflict(
            _("Reviews can be changed for %(days)d days after they are written.")
            % {"days": edit_window_days()},
            code="edit_window_closed",
        )
    if stars is not None:
        stars = _stars(stars)
    if text is not None:
        text = _bounded(text, field="text", limit=TEXT_MAX, required=False)
    saved = _photo_save(data=photo, product_id=review.product_id) if photo is not None else []
    try:
        with transaction.atomic():
            locked = Review.objects.select_for_update().get(pk=review.pk)
            before = {"stars": locked.stars, "text": locked.text, "photo": locked.photo.name}
            old_files = [locked.photo.name, locked.photo_thumbnail.name]
            if stars is not None:
                locked.stars = stars
            if text is not None:
                locked.text = text
            replaced = bool(saved) or (photo_remove and bool(locked.photo.name))
            if saved:
                locked.photo, locked.photo_thumbnail = saved
            elif photo_remove:
                locked.photo, locked.photo_thumbnail = "", ""
            locked.edited_at = timezone.now()
            locked.save()
            if locked.status == ReviewStatus.VISIBLE:
                product_rating_apply(
                    product=locked.product,
                    stars_delta=locked.stars - before["stars"],
                    count_delta=0,
                )
            audit_record(
                actor=actor,
                action="review.edit",
                obj=locked,
                before=before,
                after={"stars": locked.stars, "text": locked.text, "photo": locked.photo.name},
            )
            if replaced:
                transaction.on_commit(lambda: _files_delete(old_files))
    except BaseException:
        _files_delete(saved)
        raise
    return locked


# --- the seller's reply -----------------------------------------------------------------


@transaction.atomic
def review_reply(*, actor, review: Review, text: str) -> Review:
    """The shop's one reply to a review; writing it again changes it. The buyer is told
    of the first reply only."""
    text = _bounded(text, field="text", limit=REPLY_MAX, required=True)
    locked = Review.objects.select_for_update().select_related("shop").get(pk=review.pk)
    first = locked.reply_at is None
    before = {"reply": locked.reply_text}
    now = timezone.now()
    locked.reply_text = text
    locked.reply_by = actor
    if first:
        locked.reply_at = now
    else:
        locked.reply_edited_at = now
    locked.save(update_fields=["reply_text", "reply_by", "reply_at", "reply_edited_at"])
    audit_record(
        actor=actor, action="review.reply", obj=locked, before=before, after={"reply": text}
    )
    if first:
        buyer = locked.buyer
        with in_recipient_language(buyer):
            notify(
                user=buyer,
                kind="review.replied",
                title=_("%(shop)s replied to your review") % {"shop": locked.shop.name},
                body=text[:NOTIFY_EXCERPT_CHARS],
                url=reverse("reviews:product", args=[locked.product_id]) + f"#review-{locked.pk}",
                context={"review": locked.pk},
                dedupe_key=f"review.replied:{locked.pk}",
            )
    return locked


# --- reports and moderation -------------------------------------------------------------


@transaction.atomic
def review_report(*, actor, review: Review, reason: str, note: str = "") -> Report:
    """Report a review to its moderators; once per review and user."""
    if reason not in ReportReason.values:
        raise ValidationError(_("Choose a reason."), field="reason")
    note = _bounded(note, field="note", limit=NOTE_MAX, required=reason == ReportReason.OTHER)
    try:
        with transaction.atomic():
            report = Report.objects.create(review=review, reporter=actor, reason=reason, note=note)
    except IntegrityError:
        raise Conflict(
            _("You have already reported this review."), code="already_reported"
        ) from None
    audit_record(
        actor=actor, action="review.report", obj=review, after={"reason": reason, "note": note}
    )
    return report


def _reports_resolve(*, actor, review: Review, now: datetime) -> int:
    return Report.objects.filter(review=review, resolved_at__isnull=True).update(
        resolved_at=now, resolved_by=actor
    )


@transaction.atomic
def review_hide(*, actor, review: Review, reason: str) -> Review:
    """Take a review out of sight and out of the ratings; its open reports are resolved."""
    reason = _bounded(reason, field="reason", limit=REASON_MAX, required=True)
    locked = Review.objects.select_for_update().get(pk=review.pk)
    if locked.status == ReviewStatus.HIDDEN:
        raise Conflict(_("This review is already hidden."))
    now = timezone.now()
    locked.status = ReviewStatus.HIDDEN
    locked.hidden_reason = reason
    locked.moderated_by = actor
    locked.moderated_at = now
    locked.save(update_fields=["status", "hidden_reason", "moderated_by", "moderated_at"])
    product_rating_apply(product=locked.product, stars_delta=-locked.stars, count_delta=-1)
    resolved = _reports_resolve(actor=actor, review=locked, now=now)
    audit_record(
        actor=actor,
        action="review.hide",
        obj=locked,
        after={"reason": reason, "reports_resolved": resolved},
    )
    return locked


@transaction.atomic
def review_unhide(*, actor, review: Review) -> Review:
    """Put a hidden review back; it counts in the ratings again."""
    locked = Review.objects.select_for_update().get(pk=review.pk)
    if locked.status == ReviewStatus.VISIBLE:
        raise Conflict(_("This review is not hidden."))
    before = {"reason": locked.hidden_reason}
    now = timezone.now()
    locked.status = ReviewStatus.VISIBLE
    locked.hidden_reason = ""
    locked.moderated_by = actor
    locked.moderated_at = now
    locked.save(update_fields=["status", "hidden_reason", "moderated_by", "moderated_at"])
    product_rating_apply(product=locked.product, stars_delta=locked.stars, count_delta=1)
    _reports_resolve(actor=actor, review=locked, now=now)
    audit_record(actor=actor, action="review.unhide", obj=locked, before=before)
    return locked


@transaction.atomic
def review_reports_dismiss(*, actor, review: Review) -> int:
    """Keep the review as it is and close its open reports (they were unfounded)."""
    resolved = _reports_resolve(actor=actor, review=review, now=timezone.now())
    audit_record(
        actor=actor, action="review.reports_dismiss", obj=review, after={"resolved": resolved}
    )
    return resolved

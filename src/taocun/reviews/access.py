"""Who may do what with reviews. One check per action, used by pages and the API alike; a
refusal raises PermissionDenied and writes an ``access.denied`` audit entry.

* Only the **buyer** of an order line reviews it, and edits their review. The shop's own
  sellers never review their shop (even if they bought from it).
* A **seller** of the shop (``market.access.is_shop_keeper``) replies to its reviews.
* **Moderators** hide, put back and clear reports: program staff (superusers, program
  admins, ``is_staff``) everywhere, a county officer for the shops of their county.
* Anyone sees visible reviews; a hidden one is seen by its author, the shop's sellers and
  its moderators only (to others it does not exist).
"""

from django.db.models import Q
from django.utils.translation import gettext as _

from taocun.accounts.models import Role
from taocun.core.access import denied as _deny
from taocun.core.access import is_authenticated as _authenticated
from taocun.core.access import require_login as _require_login
from taocun.core.errors import NotFound
from taocun.market.access import is_program_staff, is_shop_keeper
from taocun.market.models import Shop
from taocun.orders.models import OrderLine
from taocun.regions.access import scope_prefixes
from taocun.reviews.models import Review, ReviewStatus


def moderation_prefixes(user) -> list[str] | None:
    """Code prefixes of the villages whose shops' reviews ``user`` moderates: None for
    everywhere (program staff), an empty list for none."""
    if not _authenticated(user):
        return []
    if is_program_staff(user) or user.is_staff:
        return None
    return scope_prefixes(user, Role.OFFICER)


def moderation_filter(prefixes: list[str] | None) -> Q:
    """A filter on reviews for the scope ``moderation_prefixes`` returned."""
    if prefixes is None:
        return Q()
    query = Q(pk__in=[])
    for prefix in prefixes:
        query |= Q(shop__village__code__startswith=prefix)
    return query


def is_moderator(user, shop: Shop) -> bool:
    prefixes = moderation_prefixes(user)
    return prefixes is None or any(shop.village.code.startswith(p) for p in prefixes)


def access_review_create(*, user, line: OrderLine) -> OrderLine:
    """The buyer of the line, who is not one of the shop's sellers."""
    _require_login(user, _("Log in to review what you bought."))
    order = line.order
    if is_shop_keeper(user, order.shop):
        raise _deny(
            user=user,
            obj=line,
            what="review create",
            message=_("Sellers cannot review their own shop."),
        )
    if order.buyer_id != user.pk:
        raise _deny(
            user=user,
            obj=line,
            what="review create",
            message=_("Only the buyer of this order can review it."),
        )
    return line


def access_review_edit(*, user, review: Review) -> Review:
    _require_login(user, _("Log in to change your review."))
    if review.buyer_id != user.pk:
        raise _deny(
            user=user,
            obj=review,
            what="review edit",
            message=_("Only the author of a review can change it."),
        )
    return review


def access_review_reply(*, user, review: Review) -> Review:
    _require_login(user, _("Log in to reply to reviews."))
    if not is_shop_keeper(user, review.shop):
        raise _deny(
            user=user,
            obj=review,
            what="review reply",
            message=_("Only the sellers of this shop can reply to its reviews."),
        )
    return review


def access_review_desk(*, user) -> Shop:
    """The seller's review desk: the reviews of their household's shop."""
    _require_login(user, _("Log in to see your shop's reviews."))
    shop = None
    if user.has_role(Role.SELLER) and user.household_id is not None:
        shop = Shop.objects.select_related("village").filter(household=user.household_id).first()
    if shop is None:
        raise _deny(
            user=user,
            obj=user,
            what="review desk",
            message=_("Only sellers with a shop have a review desk."),
        )
    return shop


def access_review_moderate(*, user, review: Review) -> Review:
    _require_login(user, _("Log in to moderate reviews."))
    if not is_moderator(user, review.shop):
        raise _deny(
            user=user,
            obj=review,
            what="review moderate",
            message=_("You may not moderate the reviews of this shop."),
        )
    return review


def access_moderation_queue(*, user) -> list[str] | None:
    """Program staff and county officers; returns their scope (None for everywhere)."""
    _require_login(user, _("Log in to moderate reviews."))
    prefixes = moderation_prefixes(user)
    if prefixes == []:
        raise _deny(
            user=user,
            obj=user,
            what="review moderation",
            message=_("Only county officers and program staff moderate reviews."),
        )
    return prefixes


def access_review_view(*, user, review: Review) -> Review:
    if review.status == ReviewStatus.VISIBLE:
        return review
    if _authenticated(user) and (
        review.buyer_id == user.pk
        or is_shop_keeper(user, review.shop)
        or is_moderator(user, review.shop)
    ):
        return review
    raise NotFound(_("There is no review %(id)s.") % {"id": review.pk})


def access_review_report(*, user, review: Review) -> Review:
    """Any logged-in user but the author may report a review they can see."""
    _require_login(user, _("Log in to report a review."))
    access_review_view(user=user, review=review)
    if review.buyer_id == user.pk:
        raise _deny(
            user=user,
            obj=review,
            what="review report",
            message=_("You cannot report your own review; change it instead."),
        )
    return review

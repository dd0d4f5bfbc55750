"""Who may do what in the marketplace. One check per entity and action, used by pages, the
API and the CLI alike; a refusal raises PermissionDenied and writes an ``access.denied``
audit entry, so the same rule leaves the same trail everywhere.

* A shop belongs to a household: a **seller** whose account is linked to that household
  edits it and its products (so two sellers of one family can run one shop together).
* A **station agent** whose area covers the shop's village, the **county officer** of its
  county and program staff verify, reject, suspend and reopen shops.
* Anyone sees verified shops and listed products; a shop that cannot sell yet, or a product
  taken off sale, is visible only to the people above (to others it does not exist).
"""

from django.utils.translation import gettext as _

from taocun.accounts.models import Role
from taocun.core.access import denied as _deny
from taocun.core.access import is_authenticated as _authenticated
from taocun.core.access import require_login as _require_login
from taocun.core.errors import NotFound
from taocun.market.models import Product, Shop, ShopStatus
from taocun.regions.access import scope_prefixes
from taocun.regions.models import Division, Household

REVIEW_ROLES = (Role.OFFICER, Role.AGENT)


def is_program_staff(user) -> bool:
    return _authenticated(user) and (user.is_superuser or user.has_role(Role.PROGRAM_ADMIN))


def review_prefixes(user) -> list[str] | None:
    """Code prefixes of the villages whose shops ``user`` reviews; None means all (program
    staff), an empty list none."""
    if not _authenticated(user):
        return []
    if is_program_staff(user):
        return None
    return [prefix for role in REVIEW_ROLES for prefix in scope_prefixes(user, role)]


def covers_village(user, village: Division) -> bool:
    prefixes = review_prefixes(user)
    return prefixes is None or any(village.code.startswith(p) for p in prefixes)


def is_shop_keeper(user, shop: Shop) -> bool:
    return (
        _authenticated(user)
        and user.has_role(Role.SELLER)
        and user.household_id is not None
        and user.household_id == shop.household_id
    )


def access_shop_open(*, user) -> Household:
    """A seller whose account is linked to a household may open that household's shop."""
    _require_login(user, _("Log in to open a shop."))
    if not user.has_role(Role.SELLER) or user.household_id is None:
        raise _deny(
            user=user,
            obj=user,
            what="shop open",
            message=_(
                "Only a seller registered with a household can open a shop; ask your "
                "village service station."
            ),
        )
    return user.household


def access_shop_edit(*, user, shop: Shop) -> Shop:
    _require_login(user, _("Log in to manage your shop."))
    if not is_shop_keeper(user, shop):
        raise _deny(
            user=user, obj=shop, what="shop edit", message=_("You may not change this shop.")
        )
    return shop


def access_shop_verify(*, user, shop: Shop) -> Shop:
    """Verify, reject, suspend or reopen: the agent or officer covering the village."""
    _require_login(user, _("Log in to review shops."))
    if not covers_village(user, shop.village):
        raise _deny(
            user=user,
            obj=shop,
            what="shop verify",
            message=_("You may not review shops of %(village)s.") % {"village": shop.village.name},
        )
    return shop


def access_review_queue(*, user) -> list[str] | None:
    """The review queue: station agents, county officers and program staff. Returns their
    scope (code prefixes; None for everywhere)."""
    _require_login(user, _("Log in to review shops."))
    prefixes = review_prefixes(user)
    if prefixes == []:
        raise _deny(
            user=user,
            obj=user,
            what="shop review queue",
            message=_("Only station agents and county officers review shops."),
        )
    return prefixes


def access_shop_view(*, user, shop: Shop) -> Shop:
    """Verified and suspended shops are public (a suspended shop says so and sells
    nothing); a shop awaiting verification or rejected is seen by its keepers and
    reviewers only."""
    if shop.status in {ShopStatus.VERIFIED, ShopStatus.SUSPENDED}:
        return shop
    if is_shop_keeper(user, shop) or (_authenticated(user) and covers_village(user, shop.village)):
        return shop
    raise NotFound(_("There is no shop %(id)s.") % {"id": shop.pk})


def access_product_edit(*, user, product: Product) -> Product:
    _require_login(user, _("Log in to manage your products."))
    if not is_shop_keeper(user, product.shop):
        raise _deny(
            user=user,
            obj=product,
            what="product edit",
            message=_("You may not change this product: it belongs to another shop."),
        )
    return product


def access_product_view(*, user, product: Product) -> Product:
    if product.is_listed:
        return product
    shop = product.shop
    if is_shop_keeper(user, shop) or (_authenticated(user) and covers_village(user, shop.village)):
        return product
    raise NotFound(_("There is no product %(id)s.") % {"id": product.pk})

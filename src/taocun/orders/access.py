"""Who may see and act on an order. Used by pages and the API alike; a refusal raises
PermissionDenied and writes an ``access.denied`` audit entry.

* the **buyer** sees their orders, cancels, confirms receipt and asks for refunds;
* a **seller** of the shop's household sees the shop's orders, accepts, ships, refunds;
* a **station agent** covering the shop's village may mark a parcel delivered;
* **program staff** see and may act on every order.

The station agent's parcels list (:func:`access_station_parcels`) shows the orders of the
shops in the areas of the agent's own grants; an agent's grant is the only thing that
puts an order on it.

Which action is possible in which status is the state machine's business
(:mod:`taocun.orders.states`); this module says only who may try.
"""

from typing import Any

from django.utils.translation import gettext as _

from taocun.accounts.models import Role
from taocun.core.access import denied, require_login
from taocun.market.access import covers_village, is_program_staff, is_shop_keeper
from taocun.orders import states
from taocun.orders.models import Order
from taocun.regions.access import scope_prefixes

VIEW = "view"


def order_roles(user: Any, order: Order) -> set[str]:
    """The parts ``user`` plays in ``order`` (empty: none)."""
    if not getattr(user, "is_authenticated", False):
        return set()
    roles = set()
    if order.buyer_id == user.pk:
        roles.add(states.BUYER)
    if is_shop_keeper(user, order.shop):
        roles.add(states.SELLER)
    if is_program_staff(user) or user.is_staff:
        roles.add(states.STAFF)
    if user.has_role(Role.AGENT) and covers_village(user, order.shop.village):
        roles.add(states.AGENT)
    return roles


def access_order(*, user: Any, order: Order, action: str = VIEW) -> set[str]:
    """Allow ``action`` (``view`` or an action of the state machine) or raise; returns the
    user's roles in the order."""
    require_login(user, _("Log in to see your orders."))
    roles = order_roles(user, order)
    needed = None if action == VIEW else states.TRANSITIONS[action].actors
    allowed = bool(roles) if needed is None else bool(roles & needed)
    if not allowed:
        raise denied(
            user=user,
            obj=order,
            what=f"order {action}",
            message=_("You may not do this with order %(id)d.") % {"id": order.pk}
            if action != VIEW
            else _("You may not see order %(id)d.") % {"id": order.pk},
        )
    return roles


def access_seller_desk(*, user: Any):
    """The order desk of the seller's shop; returns the shop."""
    from taocun.market.selectors import seller_shop

    require_login(user, _("Log in to see your shop's orders."))
    shop = seller_shop(user=user)
    if shop is None or not is_shop_keeper(user, shop):
        raise denied(
            user=user,
            obj=user,
            what="order desk",
            message=_("Only the sellers of a shop see its orders."),
        )
    return shop


def access_station_parcels(*, user: Any) -> list[str] | None:
    """The parcels list of a service station: station agents, for the villages their
    grants cover, and program staff, everywhere. Returns the village code prefixes (None:
    every village; an agent without an area yet gets an empty list and sees nothing)."""
    require_login(user, _("Log in to see the parcels of your station."))
    if is_program_staff(user):
        return None
    if not user.has_role(Role.AGENT):
        raise denied(
            user=user,
            obj=user,
            what="station parcels",
            message=_("Only station agents see the parcels of their villages."),
        )
    return scope_prefixes(user, Role.AGENT)

"""The orders' entries in the site navigation: the cart for everyone, "My orders" and the
address book for people logged in, the order desk for sellers and the parcels of their
villages for station agents."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from taocun.accounts.models import Role


def orders_public_nav() -> list[tuple]:
    return [(_("Cart"), reverse("orders:cart"), "orders:cart")]


def orders_role_nav(user) -> list[tuple]:
    items = [
        (_("My orders"), reverse("orders:list"), "orders:list"),
        (_("Address book"), reverse("orders:addresses"), "orders:address"),
    ]
    if Role.SELLER in user.roles:
        items.append((_("Orders to fill"), reverse("orders:desk"), "orders:desk"))
    if Role.AGENT in user.roles:
        items.append((_("Parcels"), reverse("orders:parcels"), "orders:parcels"))
    return items

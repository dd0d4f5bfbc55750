"""The market's entries in the site navigation (``web.context_processors``): the storefront
for everyone, the seller's desk for sellers, the review queue for the people who verify
shops. Kept here so the market owns its labels and the rules for who sees them."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from taocun.accounts.models import Role

REVIEWER_ROLES = {Role.AGENT, Role.OFFICER, Role.PROGRAM_ADMIN}


def market_public_nav() -> list[tuple]:
    return [(_("Market"), reverse("market:home"), "market:")]


def market_role_nav(user) -> list[tuple]:
    roles = user.roles
    items = []
    if Role.SELLER in roles:
        items.append((_("My shop"), reverse("market:sell"), "market:sell"))
    if roles & REVIEWER_ROLES or user.is_superuser:
        items.append((_("Shop reviews"), reverse("market:review"), "market:review"))
    return items

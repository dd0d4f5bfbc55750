"""Navigation by role: each role sees the sections it can use, and only sections that exist.

Sections for lenders and enterprise representatives (loans, pairings) appear here as their
apps land; until then those roles see the public sections.
"""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from taocun.accounts.models import Role
from taocun.market.navigation import market_public_nav, market_role_nav
from taocun.orders.navigation import orders_public_nav, orders_role_nav
from taocun.reviews.navigation import reviews_role_nav

# Roles that may look at household registers (their scope is checked on every page).
HOUSEHOLD_ROLES = {Role.AGENT, Role.OFFICER, Role.PROGRAM_ADMIN}


def navigation(request) -> dict:
    """``nav_items`` for the header, the user's role labels, and whether the user may
    look at household registers at all (each village is still checked on its page)."""
    items = [
        (_("Home"), reverse("web:home"), "web:home"),
        (_("Regions"), reverse("regions:browse"), "regions:"),
        (_("Search"), reverse("regions:search"), "regions:search"),
        *market_public_nav(),
        (_("Labels"), reverse("labels:evaluation_list"), "labels:"),
        *orders_public_nav(),
    ]
    role_labels: list[str] = []
    sees_households = False
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        roles = user.roles
        role_labels = [str(Role(role).label) for role in Role.values if role in roles]
        sees_households = bool(roles & HOUSEHOLD_ROLES) or user.is_superuser
        if sees_households:
            items.append((_("My villages"), reverse("regions:my_households"), "regions:my_"))
        items += market_role_nav(user)
        items += orders_role_nav(user)
        items += reviews_role_nav(user)
        if user.is_staff:
            items.append((_("Administration"), reverse("admin:index"), "admin:"))
    match = getattr(request, "resolver_match", None)
    here = f"{match.namespace}:{match.url_name}" if match and match.namespace else ""
    current = _current_key([key for _label, _url, key in items], here)
    return {
        "nav_items": [
            {"label": label, "url": url, "current": key == current} for label, url, key in items
        ],
        "user_role_labels": role_labels,
        "user_sees_households": sees_households,
    }


def _current_key(keys: list[str], here: str) -> str:
    """The most specific nav key matching the current view name (a prefix match)."""
    matching = [key for key in keys if here.startswith(key)]
    return max(matching, key=len) if matching else ""

"""Navigation by role: each role sees the sections it can use."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from taocun.accounts.models import Role


def navigation(request) -> dict:
    items = [(_("Home"), reverse("web:home")), (_("Regions"), reverse("regions:browse"))]
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        roles = user.roles
        if roles & {Role.AGENT, Role.OFFICER, Role.PROGRAM_ADMIN}:
            items.append((_("Households"), reverse("regions:my_households")))
        if user.is_staff:
            items.append((_("Administration"), reverse("admin:index")))
    return {"nav_items": items}

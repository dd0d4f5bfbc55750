"""Reads of accounts, shared by pages, the API and the CLI."""

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from taocun.accounts.models import RoleGrant, User
from taocun.accounts.phones import normalize_phone
from taocun.core.errors import NotFound


def user_get_by_phone(*, phone: str) -> User:
    """The account of a phone number, written any way ``normalize_phone`` accepts."""
    normalized = normalize_phone(phone)
    user = User.objects.filter(phone=normalized).first()
    if user is None:
        raise NotFound(
            _("No account has the phone number %(phone)s.") % {"phone": normalized},
            field="phone",
        )
    return user


def role_grants_list(*, user: User | None = None) -> QuerySet[RoleGrant]:
    """Role grants with their users and scopes, by phone then role; one user's when given."""
    grants = RoleGrant.objects.select_related("user", "region")
    if user is not None:
        grants = grants.filter(user=user)
    return grants.order_by("user__phone", "role", "region_id")

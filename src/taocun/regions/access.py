"""Who may see what of the region registry. One check per entity, used by pages, the API
and the CLI alike; a refusal raises PermissionDenied and is written to the audit log (with
the caller's address when there is a request)."""

from typing import Literal

from django.utils.translation import gettext as _

from taocun.accounts.models import Role
from taocun.core.access import denied, is_authenticated
from taocun.core.access import require_login as _require_login
from taocun.regions.codes import significant_prefix
from taocun.regions.models import Division, Household, Level

ALL_VILLAGES = "all"
# Roles whose grants scope a set of villages (their households registers).
SCOPED_ROLES = (Role.OFFICER, Role.AGENT)

Scope = list[str] | Literal["all"]


def scope_prefixes(user, role: str) -> list[str]:
    """The code prefixes a regional grant covers (a county officer: their county's)."""
    if role not in user.roles:  # cached per request: no query for users without the role
        return []
    return [
        significant_prefix(grant.region.code, grant.region.level)
        for grant in user.role_grants.select_related("region").filter(role=role)
        if grant.region is not None
    ]


def _scope(user) -> Scope | None:
    """Every village (``"all"``), the code prefixes of the user's areas, or None for a user
    whose roles give no household register at all."""
    if user.is_superuser or user.has_role(Role.PROGRAM_ADMIN):
        return ALL_VILLAGES
    if not any(user.has_role(role) for role in SCOPED_ROLES):
        return None
    return [prefix for role in SCOPED_ROLES for prefix in scope_prefixes(user, role)]


def _covers(user, village: Division) -> bool:
    scope = _scope(user)
    if scope == ALL_VILLAGES:
        return True
    return any(village.code.startswith(prefix) for prefix in scope or [])


def access_scope_villages(*, user, ip_address: str | None = None) -> Scope:
    """The villages whose households ``user`` may see: ``"all"`` for program staff, else
    the code prefixes of an officer's county and an agent's station areas (possibly none
    yet). Any other role is refused: it has no household register to look at."""
    _require_login(user, _("Log in to see households."))
    scope = _scope(user)
    if scope is None:
        raise denied(
            user=user,
            object_type="regions.division",
            what="villages in scope",
            ip_address=ip_address,
            message=_(
                "Only county officers, station agents and program staff see household registers."
            ),
        )
    return scope


def access_village_households(
    *, user, village: Division, ip_address: str | None = None
) -> Division:
    """Households of a village: program staff; the officer of its county; the agent of a
    station serving it. Sellers see only their own household (see access_household)."""
    _require_login(user, _("Log in to see households."))
    if village.level != Level.VILLAGE or not _covers(user, village):
        raise denied(
            user=user,
            obj=village,
            what="village households",
            ip_address=ip_address,
            message=_("You may not see the households of %(name)s.") % {"name": village.name},
        )
    return village


def access_household(*, user, household: Household, ip_address: str | None = None) -> Household:
    if is_authenticated(user) and (
        user.household_id == household.pk or _covers(user, household.village)
    ):
        return household
    raise denied(
        user=user,
        obj=household,
        what=None,
        ip_address=ip_address,
        message=_("You may not see this household."),
    )

"""Who may see what of the region registry. One check per entity, used by pages, the API
and the CLI alike; a refusal raises PermissionDenied and is written to the audit log."""

from django.utils.translation import gettext as _

from taocun.accounts.models import Role
from taocun.core.errors import NotAuthenticated, PermissionDenied
from taocun.core.services import audit_record
from taocun.regions.codes import significant_prefix
from taocun.regions.models import Division, Household, Level


def scope_prefixes(user, role: str) -> list[str]:
    """The code prefixes a regional grant covers (a county officer: their county's)."""
    return [
        significant_prefix(grant.region.code, grant.region.level)
        for grant in user.role_grants.select_related("region").filter(role=role)
        if grant.region is not None
    ]


def _covers(user, village: Division) -> bool:
    if user.is_superuser or user.has_role(Role.PROGRAM_ADMIN):
        return True
    for role in (Role.OFFICER, Role.AGENT):
        if user.has_role(role) and any(
            village.code.startswith(prefix) for prefix in scope_prefixes(user, role)
        ):
            return True
    return False


def access_village_households(*, user, village: Division) -> Division:
    """Households of a village: program staff; the officer of its county; the agent of a
    station serving it. Sellers see only their own household (see access_household)."""
    if not getattr(user, "is_authenticated", False):
        raise NotAuthenticated(_("Log in to see households."))
    if village.level != Level.VILLAGE or not _covers(user, village):
        audit_record(
            actor=user, action="access.denied", obj=village, after={"what": "village households"}
        )
        raise PermissionDenied(
            _("You may not see the households of %(name)s.") % {"name": village.name}
        )
    return village


def access_household(*, user, household: Household) -> Household:
    if getattr(user, "is_authenticated", False) and (
        user.household_id == household.pk or _covers(user, household.village)
    ):
        return household
    audit_record(
        actor=user if getattr(user, "is_authenticated", False) else None,
        action="access.denied",
        obj=household,
    )
    raise PermissionDenied(_("You may not see this household."))

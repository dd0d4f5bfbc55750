"""Writes to the region registry other than bulk imports (see ``regions.importing``)."""

from django.db import transaction
from django.utils.translation import gettext as _

from taocun.core.errors import ValidationError
from taocun.core.services import audit_record
from taocun.regions.models import Division, Household, Level, Poverty


def _check_year(value: int | None, field: str) -> None:
    if value is not None and not 1980 <= value <= 2100:
        raise ValidationError(
            _("%(value)s is not a plausible year") % {"value": value}, field=field
        )


@transaction.atomic
def household_register(
    *,
    actor,
    village: Division,
    head_name: str,
    members: int,
    members_away: int = 0,
    registered_poor: bool = False,
    poor_since_year: int | None = None,
    poverty_exit_year: int | None = None,
) -> Household:
    """Register a household in a village's registry."""
    if village.level != Level.VILLAGE:
        raise ValidationError(
            _("Households belong to villages, not to a %(level)s.")
            % {"level": village.get_level_display()},
            field="village",
        )
    head_name = head_name.strip()
    if not head_name or len(head_name) > 50:
        raise ValidationError(
            _("The head of household's name is required (50 characters at most)."),
            field="head_name",
        )
    if not 1 <= members <= 60:
        raise ValidationError(_("A household has between 1 and 60 members."), field="members")
    if not 0 <= members_away <= members:
        raise ValidationError(
            _("Members working away cannot exceed the members."), field="members_away"
        )
    _check_year(poor_since_year, "poor_since_year")
    _check_year(poverty_exit_year, "poverty_exit_year")
    if poverty_exit_year is not None and not registered_poor:
        raise ValidationError(
            _("Only a registered-poor household can exit poverty."), field="poverty_exit_year"
        )
    if poor_since_year and poverty_exit_year and poverty_exit_year < poor_since_year:
        raise ValidationError(
            _("The exit year comes before the registration year."), field="poverty_exit_year"
        )
    household = Household.objects.create(
        village=village,
        head_name=head_name,
        members=members,
        members_away=members_away,
        registered_poor=registered_poor,
        poor_since_year=poor_since_year,
        poverty_exit_year=poverty_exit_year,
    )
    audit_record(
        actor=actor,
        action="household.register",
        obj=household,
        after={"village": village.code, "members": members, "registered_poor": registered_poor},
    )
    return household


@transaction.atomic
def county_designate_poverty(
    *,
    actor,
    county: Division,
    poverty: str,
    exit_year: int | None = None,
    demo_invented: bool = False,
) -> Division:
    """Set (or clear, with ``""``) a county's poverty designation."""
    if county.level != Level.COUNTY:
        raise ValidationError(_("Only counties carry a poverty designation."), field="poverty")
    if poverty not in Poverty.values:
        raise ValidationError(
            _("Unknown poverty designation %(value)s") % {"value": poverty}, field="poverty"
        )
    _check_year(exit_year, "poverty_exit_year")
    if exit_year is not None and not poverty:
        raise ValidationError(_("An exit year needs a designation."), field="poverty_exit_year")
    before = {"poverty": county.poverty, "exit_year": county.poverty_exit_year}
    Division.objects.filter(pk=county.pk).update(
        poverty=poverty,
        poverty_exit_year=exit_year,
        demo_invented=demo_invented or county.demo_invented,
    )
    county.refresh_from_db()
    audit_record(
        actor=actor,
        action="county.designate_poverty",
        obj=county,
        before=before,
        after={"poverty": poverty, "exit_year": exit_year, "demo_invented": demo_invented},
    )
    return county

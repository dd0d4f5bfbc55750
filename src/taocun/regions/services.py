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


HOUSEHOLDS_MAX = 2_147_483_647  # PositiveIntegerField's ceiling on every backend
_CHECK_CHUNK = 5_000  # codes per IN (...) query, well under SQLite's variable limit


@transaction.atomic
def villages_set_households(*, actor, counts: dict[str, int], demo_invented: bool) -> int:
    """Set the households count of many villages at once; return how many were set.

    All or nothing: every code must name a village and every count be a whole number from 0
    up, or nothing is written. ``demo_invented`` flags (or unflags) the counts as invented
    for the demo. One audit entry records the batch, not one per village: the demo sets
    thousands of counts at a time.
    """
    for code, count in counts.items():
        if (
            isinstance(count, bool)
            or not isinstance(count, int)
            or not 0 <= count <= HOUSEHOLDS_MAX
        ):
            raise ValidationError(
                _("%(code)s: a households count is a whole number, 0 or more (got %(count)s).")
                % {"code": code, "count": repr(count)},
                field="households",
            )
    codes = sorted(counts)
    villages: list[Division] = []
    for start in range(0, len(codes), _CHECK_CHUNK):
        chunk = codes[start : start + _CHECK_CHUNK]
        found = dict(Division.objects.filter(code__in=chunk).values_list("code", "level"))
        for code in chunk:
            if code not in found:
                raise ValidationError(
                    _("No division with code %(code)s") % {"code": code}, field="code"
                )
            if found[code] != Level.VILLAGE:
                raise ValidationError(
                    _("%(code)s is not a village: only villages have a households count.")
                    % {"code": code},
                    field="code",
                )
        villages += [
            Division(code=code, households=counts[code], demo_invented=demo_invented)
            for code in chunk
        ]
    Division.objects.bulk_update(villages, ["households", "demo_invented"], batch_size=500)
    if villages:
        audit_record(
            actor=actor,
            action="villages.set_households",
            object_type="regions.division",
            after={
                "villages": len(villages),
                "households": sum(counts.values()),
                "demo_invented": demo_invented,
            },
        )
    return len(villages)

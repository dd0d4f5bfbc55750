"""Shapes of the regions API. Output only: the tree is written by imports, not the API."""

from typing import Annotated, Literal

from django.utils.translation import gettext as _
from ninja import Field, Schema
from pydantic import AfterValidator, AliasChoices

from taocun.regions.models import Division


def _refuse_nul(value: str) -> str:
    # PostgreSQL cannot store or even compare text containing NUL; refuse it at the edge
    # so that it is a 400 naming the field rather than a database error.
    if "\x00" in value:
        raise ValueError(_("must not contain NUL characters"))
    return value


# Use for every free-text input of the API.
Text = Annotated[str, AfterValidator(_refuse_nul)]

LevelName = Literal["province", "prefecture", "county", "township", "village"]


class DivisionRefOut(Schema):
    """Just enough to name and link a division (ancestors, scopes)."""

    code: str
    name: str
    level: LevelName


class DivisionFieldsOut(DivisionRefOut):
    """What the registry knows about one division (without its neighbours in the tree)."""

    parent_code: str | None = Field(
        None,
        validation_alias=AliasChoices("parent_code", "parent_id"),
        description="12-digit code of the parent division",
    )
    ur_code: str = Field("", description="NBS urban/rural code: 1xx urban, 2xx rural")
    is_rural: bool | None = Field(None, description="From ur_code; null when unknown")
    committee_kind: str = Field(
        "", description="Villages only: residents, village, residents_like or village_like"
    )
    households: int | None = None
    lat: float | None = None
    lon: float | None = None
    poverty: Literal["", "national", "provincial"] = Field(
        "", description="Poverty designation of a county; empty when none"
    )
    poverty_exit_year: int | None = None
    demo_invented: bool = Field(
        False,
        description="True when households or the poverty designation were invented for the "
        "demo data and are not real",
    )


class DivisionOut(DivisionFieldsOut):
    """A division in a list, with how many divisions sit directly below it."""

    children_count: int


class DivisionDetailOut(DivisionOut):
    """One division with its place in the tree: ancestors top-down and direct children."""

    village_count: int = Field(description="Village-level units anywhere below this division")
    ancestors: list[DivisionRefOut]
    children: list[DivisionOut]


class DivisionSearchIn(Schema):
    q: Text = Field(min_length=1, max_length=50, description="Part of a Chinese name, or a code")
    level: LevelName | None = None
    limit: int = Field(20, ge=1, le=100)


class DivisionSearchOut(DivisionRefOut):
    parent_code: str | None = Field(None, validation_alias=AliasChoices("parent_code", "parent_id"))
    parent_name: str | None = None
    demo_invented: bool = False

    @staticmethod
    def resolve_parent_name(obj: Division) -> str | None:
        return obj.parent.name if obj.parent is not None else None


class HouseholdOut(Schema):
    id: int
    head_name: str
    members: int
    members_away: int
    registered_poor: bool
    poor_since_year: int | None = None
    poverty_exit_year: int | None = None

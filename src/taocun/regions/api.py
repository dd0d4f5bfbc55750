"""The regions API: browse and search the administrative tree, and (for the people whose
work needs it) the households of a village.

The tree is public information, so browsing needs no login; households are personal data
and go through :func:`taocun.regions.access.access_village_households`, which audits every
refusal.
"""

from typing import Annotated

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Path, Query, Router
from ninja.pagination import paginate

from taocun.core.pagination import BoundedLimitOffsetPagination
from taocun.regions import selectors
from taocun.regions.access import access_village_households
from taocun.regions.models import Division, Household
from taocun.regions.schemas import (
    DivisionDetailOut,
    DivisionFieldsOut,
    DivisionOut,
    DivisionSearchIn,
    DivisionSearchOut,
    HouseholdOut,
)

router = Router()

# A path code is checked by the schema, so a bad one is a 400 naming "code" before any query.
Code = Annotated[
    str,
    Path(pattern=r"^\d{12}$", description="NBS 12-digit division code", example="330782000000"),
]


@router.get("", response=list[DivisionOut], auth=None, summary="Provinces")
def province_list(request: HttpRequest) -> QuerySet[Division]:
    return selectors.division_children(parent=None)


# Declared before "/{code}" so that "search" is not taken for a code.
@router.get("/search", response=list[DivisionSearchOut], auth=None, summary="Search by name")
def division_search(request: HttpRequest, query: Query[DivisionSearchIn]) -> QuerySet[Division]:
    """Top levels first: typing 义乌 should find the city before every 义乌 street."""
    return selectors.division_search(query=query.q, level=query.level, limit=query.limit)


@router.get("/{code}", response=DivisionDetailOut, auth=None, summary="One division")
def division_detail(request: HttpRequest, code: Code) -> DivisionDetailOut:
    division = selectors.division_get(code=code)
    children = list(selectors.division_children(parent=division))
    return DivisionDetailOut(
        **DivisionFieldsOut.model_validate(division).model_dump(),
        children_count=len(children),
        children=children,
        ancestors=selectors.division_ancestors(division=division),
        village_count=selectors.division_village_count(division=division),
    )


@router.get("/{code}/children", response=list[DivisionOut], auth=None, summary="Children")
def division_children(request: HttpRequest, code: Code) -> QuerySet[Division]:
    return selectors.division_children(parent=selectors.division_get(code=code))


@router.get(
    "/{code}/households",
    response=list[HouseholdOut],
    summary="Households of a village (officers, station agents, program staff)",
)
@paginate(BoundedLimitOffsetPagination)
def village_household_list(request: HttpRequest, code: Code) -> QuerySet[Household]:
    village = access_village_households(
        user=request.auth,
        village=selectors.division_get(code=code),
        ip_address=request.META.get("REMOTE_ADDR"),
    )
    return selectors.village_households(village=village)

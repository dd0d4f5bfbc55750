"""Reads of the region registry, shared by pages, the API and the CLI."""

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.utils.translation import gettext as _

from taocun.core.errors import NotFound, ValidationError
from taocun.regions.codes import PREFIX_LENGTH, is_valid_code
from taocun.regions.models import Division, Household, Level

SEARCH_LIMIT_MAX = 100


def division_get(*, code: str) -> Division:
    if not is_valid_code(code):
        raise ValidationError(
            _("%(code)s is not a 12-digit division code") % {"code": repr(code)}, field="code"
        )
    division = Division.objects.select_related("parent").filter(code=code).first()
    if division is None:
        raise NotFound(_("No division with code %(code)s") % {"code": code}, field="code")
    return division


def division_ancestors(*, division: Division) -> list[Division]:
    """From the province down to the division's parent, in one query."""
    codes: list[str] = []
    parent_code = division.parent_id
    # Parent codes are prefix-derived in practice, but a table may skip levels; walk the
    # real parent links from the candidate ancestors fetched at once.
    candidates = {
        d.code: d
        for d in Division.objects.filter(
            code__in={division.code[:n].ljust(12, "0") for n in PREFIX_LENGTH.values()}
            | ({parent_code} if parent_code else set())
        )
    }
    while parent_code and parent_code in candidates:
        codes.append(parent_code)
        parent_code = candidates[parent_code].parent_id
    return [candidates[c] for c in reversed(codes)]


def division_children(*, parent: Division | None) -> QuerySet[Division]:
    """Children of a division (provinces when ``parent`` is None) with their child counts."""
    queryset = (
        Division.objects.filter(parent=parent)
        if parent
        else Division.objects.filter(level=Level.PROVINCE)
    )
    return queryset.annotate(children_count=Count("children")).order_by("code")


def division_village_count(*, division: Division) -> int:
    """Villages (village-level units) below a division, counted in the database."""
    if division.level == Level.VILLAGE:
        return 0
    prefix = division.code[: PREFIX_LENGTH[division.level]]
    return Division.objects.filter(level=Level.VILLAGE, code__startswith=prefix).count()


def division_search(*, query: str, level: str | None = None, limit: int = 20) -> QuerySet[Division]:
    """Divisions whose Chinese name contains the query, top levels first."""
    query = (query or "").strip()
    if not query:
        raise ValidationError(_("Type part of a name to search"), field="q")
    if "\x00" in query:
        raise ValidationError(_("The search text contains a NUL character"), field="q")
    if len(query) > 50:
        raise ValidationError(_("The search text is too long (50 characters at most)"), field="q")
    if level and level not in Level.values:
        raise ValidationError(_("Unknown level %(level)r") % {"level": level}, field="level")
    limit = max(1, min(int(limit), SEARCH_LIMIT_MAX))
    queryset = Division.objects.select_related("parent").filter(
        Q(name__contains=query) | Q(code=query)
    )
    if level:
        queryset = queryset.filter(level=level)
    # Provinces before villages, then by code: the coarse match is usually the one meant.
    order = ["province", "prefecture", "county", "township", "village"]

    rank = Case(
        *[When(level=name, then=Value(i)) for i, name in enumerate(order)],
        output_field=IntegerField(),
    )
    return queryset.annotate(level_rank=rank).order_by("level_rank", "code")[:limit]


def village_households(*, village: Division) -> QuerySet[Household]:
    return Household.objects.filter(village=village).order_by("id")


def division_villages_under(*, prefixes: list[str]) -> QuerySet[Division]:
    """Villages whose codes start with any of ``prefixes`` (a user's scope), with their
    registered household counts; none when ``prefixes`` is empty."""
    if not prefixes:
        return Division.objects.none()
    under = Q()
    for prefix in prefixes:
        under |= Q(code__startswith=prefix)
    return (
        Division.objects.filter(under, level=Level.VILLAGE)
        .select_related("parent")
        .annotate(registered_households=Count("household_set"))
        .order_by("code")
    )

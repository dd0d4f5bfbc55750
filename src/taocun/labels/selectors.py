"""Reads of stored evaluations, shared by the pages, the API and the CLI.

Everything here reads the stored results (``Evaluation`` and its village, town and cluster
rows); nothing runs the engine. Names of counties, townships and provinces are looked up in
the division table by the codes a result stores, in the same query (subqueries on the
primary key), so a page of results is one query however long it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import (
    Count,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Concat, Substr
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from taocun.core.errors import Conflict, NotFound, ValidationError
from taocun.core.money import Money
from taocun.labels.models import (
    ClusterResult,
    Evaluation,
    EvaluationStatus,
    TownResult,
    VillageResult,
)
from taocun.labels.rulesets import rule_sets_shipped
from taocun.regions.codes import expected_level, is_valid_code, level_of_code
from taocun.regions.models import Division, Level, Poverty
from taocun.sales.platforms import platform_names

# Largest primary key a database can hold; a bigger id in a URL is "not found", not a crash.
MAX_ID = 2**63 - 1

# --- published figures ---------------------------------------------------------------------

# Taobao villages and towns per round as AliResearch published them (reports of each round;
# collected in the project's reference data, shared/data/README.md). None: not published.
PUBLISHED_ROUNDS: dict[int, tuple[int, int | None]] = {
    2009: (3, None),
    2013: (20, None),
    2014: (212, None),
    2015: (780, 71),
    2016: (1311, 135),
    2017: (2118, 242),
    2018: (3202, 363),
    2019: (4310, 1118),
    2020: (5425, 1756),
    2021: (7023, 2171),
    2022: (7780, 2429),
}


def published_figures(evaluation: Evaluation) -> tuple[int | None, int | None]:
    """Published (villages, towns) of the evaluation's round; None where not published."""
    return PUBLISHED_ROUNDS.get(evaluation.round_year or evaluation.cutoff.year, (None, None))


PUBLISHED_SOURCE = gettext_lazy("AliResearch (阿里研究院), annual Taobao Village reports")

# --- presentation of coded values ----------------------------------------------------------

SIZE_CLASS_LABELS = {
    "cluster": gettext_lazy("cluster"),
    "large": gettext_lazy("large cluster"),
    "super_large": gettext_lazy("super-large cluster"),
}

# Town bases as the engine stores them (``labels.engine.towns``); both rules: joined by "+".
TOWN_BASIS_LABELS = {
    "villages": gettext_lazy("enough Taobao villages"),
    "sales_shops": gettext_lazy("sales and active shops"),
}

CRITERION_LABELS = {
    "eligibility": gettext_lazy("Eligible unit"),
    "sales": gettext_lazy("Annual sales"),
    "main_platform": gettext_lazy("Main platform"),
    "active_shops": gettext_lazy("Active shops"),
    "household_share": gettext_lazy("Active shops per household"),
}

COMMITTEE_KIND_LABELS = {
    "village": gettext_lazy("village committee"),
    "village_like": gettext_lazy("like a village committee"),
    "residents": gettext_lazy("residents' committee"),
    "residents_like": gettext_lazy("like a residents' committee"),
}


def size_class_label(size_class: str) -> str:
    return str(SIZE_CLASS_LABELS.get(size_class, size_class))


def town_basis_label(basis: str) -> str:
    return _(" and ").join(
        str(TOWN_BASIS_LABELS.get(part, part)) for part in basis.split("+") if part
    )


# --- criteria in words ---------------------------------------------------------------------
#
# The engine stores each criterion of a village as JSON (``labels.explaining``):
#   {"key": "sales", "passed": false, "value": 879570000, "threshold": 1000000000,
#    "comparison": ">=", "gap": 120430000, "unit": "fen"}
# with keys eligibility, sales, main_platform, active_shops and household_share; the last
# two form the "shops" group, of which one passing is enough. The words for the whole
# village come from the engine's own ``gap_sentence`` so the CLI and the pages agree.

SHOPS_GROUP = "shops"


@dataclass(frozen=True)
class CriterionView:
    """One criterion of a village result, ready to show: value and threshold as text, the
    outcome (``pass``, ``fail``, ``unknown``, or ``not_needed`` for a failed alternative
    whose partner passed) and the gap in words."""

    key: str
    label: str
    outcome: str
    value_text: str
    threshold_text: str
    gap_text: str
    alternative: bool = False
    raw: dict = field(default_factory=dict, compare=False)


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _unit(criterion: dict) -> str:
    key = str(criterion.get("key", ""))
    unit = str(criterion.get("unit") or "")
    if key == "household_share":
        return "share"
    if unit in {"fen", "shops", "households", "platform"}:
        return unit
    if key == "sales":
        return "fen"
    if key == "active_shops":
        return "shops"
    return "other"


def _value_text(unit: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if unit == "platform":
        return platform_names(value if isinstance(value, list) else [str(value)])
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    number = _decimal(value)
    if number is None:
        return str(COMMITTEE_KIND_LABELS.get(str(value), value))
    if unit == "fen":
        return Money(int(number)).format()
    if unit == "share":
        return f"{(number * 100).quantize(Decimal('0.1'))} %"
    if number == number.to_integral_value():
        return f"{int(number):,}"
    return str(value)


def _gap_text(criterion: dict, unit: str) -> str:
    gap = criterion.get("gap")
    key = criterion.get("key")
    if isinstance(gap, str) and _decimal(gap) is None:
        return gap  # stored in words: shown as stored
    if key == "eligibility":
        from taocun.labels.explaining import eligibility_text  # imports Ibis: only when needed

        return eligibility_text(str(criterion.get("reason") or ""))
    if key == "main_platform":
        main = criterion.get("threshold") or []
        main = platform_names(main if isinstance(main, list) else [str(main)])
        return _("needs %(main)s as its main platform") % {"main": main}
    number = _decimal(gap)
    if number is None or number <= 0:
        return ""
    count = int(number.to_integral_value(rounding="ROUND_CEILING"))
    if unit == "fen":
        return _("needs %(amount)s more sales") % {"amount": Money(count).format()}
    if key == "household_share" and criterion.get("unit") == "households":
        return ngettext(
            "needs %(count)d more household with an active shop",
            "needs %(count)d more households with an active shop",
            count,
        ) % {"count": count}
    return ngettext(
        "needs %(count)d more active shop", "needs %(count)d more active shops", count
    ) % {"count": count}


def criterion_explain(criterion: dict, *, group_passed: bool = False) -> CriterionView:
    """One stored criterion in words. ``passed`` is true, false or null (unknown: e.g. the
    share of households when the village has no households count — never counted as 0)."""
    key = str(criterion.get("key", ""))
    unit = _unit(criterion)
    passed = criterion.get("passed")
    alternative = criterion.get("group") == SHOPS_GROUP
    if passed is None:
        outcome = "unknown"
    elif passed:
        outcome = "pass"
    else:
        outcome = "not_needed" if alternative and group_passed else "fail"
    symbol = ">" if criterion.get("comparison") == ">" else "≥"
    threshold = criterion.get("threshold")
    if key == "eligibility":
        threshold_text = (
            _("rural village committees")
            if criterion.get("rural_only")
            else _("village committees")
        )
    elif key == "main_platform" or threshold is None:
        threshold_text = _value_text(unit, threshold)
    else:
        threshold_text = f"{symbol} {_value_text(unit, threshold)}"
    return CriterionView(
        key=key,
        label=str(CRITERION_LABELS.get(key, key.replace("_", " "))),
        outcome=outcome,
        value_text=_value_text(unit, criterion.get("value")),
        threshold_text=threshold_text,
        gap_text=_gap_text(criterion, unit) if outcome == "fail" else "",
        alternative=alternative,
        raw=dict(criterion),
    )


def criteria_explain(criteria: list[dict]) -> list[CriterionView]:
    group_passed = any(
        c.get("group") == SHOPS_GROUP and c.get("passed") is True for c in criteria or []
    )
    return [criterion_explain(c, group_passed=group_passed) for c in criteria or []]


def village_gap_summary(criteria: list[dict]) -> str:
    """What a village still needs, in one sentence ("needs ¥1,204,300.00 more sales and 14
    more active shops, or …"); empty when it is labelled. The engine's own words."""
    if not criteria:
        return ""
    from taocun.labels.explaining import gap_sentence  # imports Ibis: only when needed

    try:
        return gap_sentence(list(criteria))
    except (KeyError, TypeError, ValueError):
        # Criteria stored in an older or foreign shape: the per-criterion gaps still show.
        return ""


def eligibility_note_text(result: VillageResult) -> str:
    """Why a village is not eligible, in words (the engine stores a reason code)."""
    if not result.eligibility_note:
        return ""
    from taocun.labels.explaining import eligibility_text  # imports Ibis: only when needed

    return eligibility_text(result.eligibility_note)


def failed_criteria(result: VillageResult) -> list[str]:
    """Keys of the criteria that keep the village from the label (``key:unknown`` when
    undecided), as in the engine's villages.csv."""
    from taocun.labels.explaining import failed_criteria as engine_failed_criteria

    try:
        return engine_failed_criteria(list(result.criteria or []))
    except (KeyError, TypeError):
        return [str(c.get("key", "")) for c in result.criteria or [] if c.get("passed") is False]


# --- evaluations ---------------------------------------------------------------------------


def evaluation_list(*, status: str = "", rule_set: str = "") -> QuerySet[Evaluation]:
    """Evaluations, newest first."""
    if status and status not in EvaluationStatus.values:
        raise ValidationError(
            _("Unknown status %(status)r (one of: %(allowed)s)")
            % {"status": status, "allowed": ", ".join(EvaluationStatus.values)},
            field="status",
        )
    queryset = Evaluation.objects.select_related("requested_by").order_by("-created_at", "-id")
    if status:
        queryset = queryset.filter(status=status)
    if rule_set:
        queryset = queryset.filter(rule_set=rule_set)
    return queryset


def evaluation_get(*, evaluation_id: int | str) -> Evaluation:
    try:
        pk = int(str(evaluation_id).strip())
    except ValueError:
        raise ValidationError(
            _("%(value)r is not an evaluation number") % {"value": evaluation_id},
            field="evaluation",
        ) from None
    evaluation = (
        Evaluation.objects.select_related("requested_by").filter(pk=pk).first()
        if 1 <= pk <= MAX_ID
        else None
    )
    if evaluation is None:
        raise NotFound(
            _("No evaluation with number %(id)s") % {"id": evaluation_id}, field="evaluation"
        )
    return evaluation


def evaluation_require_done(evaluation: Evaluation) -> Evaluation:
    """Results exist only for finished evaluations; asking for others is a conflict."""
    if evaluation.status != EvaluationStatus.DONE:
        raise Conflict(
            _("Evaluation %(id)s has no results: it is %(status)s.")
            % {"id": evaluation.pk, "status": evaluation.get_status_display()},
            code="not_finished",
            field="evaluation",
        )
    return evaluation


def evaluations_done() -> QuerySet[Evaluation]:
    return Evaluation.objects.filter(status=EvaluationStatus.DONE).order_by(
        "-cutoff", "-created_at", "-id"
    )


def evaluation_choose(*, evaluation_id: str | int | None = None, rule_set: str = "") -> Evaluation:
    """The evaluation whose results a list shows: the one named, else the latest finished
    evaluation of the rule set, else the latest finished one of all."""
    if evaluation_id not in (None, ""):
        return evaluation_require_done(evaluation_get(evaluation_id=evaluation_id))
    queryset = evaluations_done()
    if rule_set:
        queryset = queryset.filter(rule_set=rule_set)
    evaluation = queryset.first()
    if evaluation is None:
        if rule_set:
            raise NotFound(
                _("No finished evaluation with the rule set %(name)s") % {"name": rule_set},
                field="rule_set",
            )
        raise NotFound(_("No evaluation has finished yet."), code="no_evaluation")
    return evaluation


# --- rule sets -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleSetOption:
    """A rule set that can be requested: its name, a title for people, its own cut-off."""

    name: str
    title: str
    round_year: int
    default_cutoff: date
    summary: str = ""
    sources: tuple[str, ...] = ()


def rule_set_options() -> list[RuleSetOption]:
    """The rule sets shipped with the package, by round, for the request form and the API.

    Only shipped rule sets can be requested from the web: a custom rule set is a file on
    the server, which the CLI reads (``taocun labels evaluate --rules PATH``).
    """
    return [
        RuleSetOption(
            name=rules.name,
            title=rules.title,
            round_year=rules.round_year,
            default_cutoff=rules.cutoff,
            summary=" ".join(rules.summary.split()),
            sources=tuple(rules.sources),
        )
        for rules in rule_sets_shipped()
    ]


def rule_set_check(name: str) -> str:
    """A shipped rule set's name, or a 400 naming ``rules`` (never a path on the server)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("Choose a rule set."), field="rules")
    names = [option.name for option in rule_set_options()]
    if name not in names:
        raise ValidationError(
            _("Unknown rule set %(name)r (one of: %(names)s)")
            % {"name": name[:60], "names": ", ".join(names)},
            field="rules",
        )
    return name


# --- filters -------------------------------------------------------------------------------

POVERTY_FILTERS = ("", "national", "provincial", "designated", "none")
STATUS_FILTERS = ("labeled", "unlabeled", "all")
_NUL = re.compile("\x00")


@dataclass(frozen=True)
class ResultFilter:
    """Where the villages (or towns) of a list are: a province, a county, a township, the
    poverty designation of their county, and whether they earned the label."""

    province: str = ""
    county: str = ""
    poverty: str = ""
    status: str = "labeled"
    township: str = ""

    def as_query(self) -> dict[str, str]:
        return {
            name: value
            for name, value in (
                ("province", self.province),
                ("county", self.county),
                ("township", self.township),
                ("poverty", self.poverty),
                ("status", "" if self.status == "labeled" else self.status),
            )
            if value
        }


def result_filter_parse(
    *,
    province: str = "",
    county: str = "",
    poverty: str = "",
    status: str = "",
    township: str = "",
) -> ResultFilter:
    """Check filter values from a page's query string or the API; a wrong one is a 400
    naming the parameter, never a silently empty list."""
    province = (province or "").strip()
    county = (county or "").strip()
    township = (township or "").strip()
    poverty = (poverty or "").strip()
    status = (status or "").strip() or "labeled"
    for name, value in (("province", province), ("county", county), ("township", township)):
        if _NUL.search(value) or len(value) > 12:
            raise ValidationError(
                _("%(value)r is not a division code") % {"value": value}, field=name
            )
    if province and not (is_valid_code(province) and level_of_code(province) == Level.PROVINCE):
        raise ValidationError(
            _("%(value)r is not the 12-digit code of a province") % {"value": province},
            field="province",
        )
    if county and not (
        is_valid_code(county) and level_of_code(county) in {Level.COUNTY, Level.PREFECTURE}
    ):
        raise ValidationError(
            _("%(value)r is not the 12-digit code of a county") % {"value": county},
            field="county",
        )
    if province and county and not county.startswith(province[:2]):
        raise ValidationError(
            _("County %(county)s is not in province %(province)s")
            % {"county": county, "province": province},
            field="county",
        )
    if township and not (is_valid_code(township) and expected_level(township) == Level.TOWNSHIP):
        raise ValidationError(
            _("%(value)r is not the 12-digit code of a township") % {"value": township},
            field="township",
        )
    if poverty not in POVERTY_FILTERS:
        raise ValidationError(
            _("Unknown poverty filter %(value)r (one of: %(allowed)s)")
            % {"value": poverty[:20], "allowed": ", ".join(p for p in POVERTY_FILTERS if p)},
            field="poverty",
        )
    if status not in STATUS_FILTERS:
        raise ValidationError(
            _("Unknown status filter %(value)r (one of: %(allowed)s)")
            % {"value": status[:20], "allowed": ", ".join(STATUS_FILTERS)},
            field="status",
        )
    return ResultFilter(
        province=province, county=county, township=township, poverty=poverty, status=status
    )


def _designated_counties(poverty: str) -> QuerySet:
    """Codes of counties with the designation (``designated``: either kind)."""
    counties = Division.objects.exclude(poverty=Poverty.NONE)
    if poverty in {Poverty.NATIONAL, Poverty.PROVINCIAL}:
        counties = counties.filter(poverty=poverty)
    return counties.values("code")


def _where(
    queryset: QuerySet, where: ResultFilter, *, township_field: str = "township_code"
) -> QuerySet:
    if where.province:
        queryset = queryset.filter(county_code__startswith=where.province[:2])
    if where.county:
        queryset = queryset.filter(county_code=where.county)
    if where.township:
        queryset = queryset.filter(**{township_field: where.township})
    if where.poverty == "none":
        # Counties missing from the table count as not designated.
        queryset = queryset.exclude(county_code__in=_designated_counties("designated"))
    elif where.poverty:
        queryset = queryset.filter(county_code__in=_designated_counties(where.poverty))
    if where.status == "labeled":
        queryset = queryset.filter(labeled=True)
    elif where.status == "unlabeled":
        queryset = queryset.filter(labeled=False)
    return queryset


def _division_field(code_field: str, name: str) -> Subquery:
    return Subquery(Division.objects.filter(code=OuterRef(code_field)).values(name)[:1])


def _province_code() -> Concat:
    return Concat(Substr("county_code", 1, 2), Value("0000000000"))


def _with_places(queryset: QuerySet) -> QuerySet:
    """Annotate county and province names and the county's poverty designation."""
    return queryset.annotate(
        province_code=_province_code(),
        county_name=_division_field("county_code", "name"),
        county_poverty=_division_field("county_code", "poverty"),
    ).annotate(province_name=_division_field("province_code", "name"))


# --- villages ------------------------------------------------------------------------------


def village_results(*, evaluation: Evaluation, where: ResultFilter) -> QuerySet[VillageResult]:
    """Village results of one evaluation, filtered, largest counted sales first (through
    ``evaluation.villages``: each result knows its evaluation, whose criteria layout its
    ``criteria`` read, without a query)."""
    queryset = evaluation.villages.all()
    queryset = _with_places(_where(queryset, where)).annotate(
        township_name=_division_field("township_code", "name")
    )
    return queryset.order_by("-labeled", "-sales_fen", "village_id")


def village_result_get(*, evaluation: Evaluation, code: str) -> VillageResult:
    if not is_valid_code(code or ""):
        raise ValidationError(
            _("%(code)s is not a 12-digit division code") % {"code": repr(code)[:40]},
            field="code",
        )
    result = (
        _with_places(VillageResult.objects.filter(evaluation=evaluation, village_id=code))
        .annotate(township_name=_division_field("township_code", "name"))
        .select_related("village", "evaluation")
        .first()
    )
    if result is None:
        raise NotFound(
            _("Village %(code)s is not in evaluation %(id)s") % {"code": code, "id": evaluation.pk},
            field="code",
        )
    return result


def village_history(*, code: str) -> QuerySet[VillageResult]:
    """The village in every finished evaluation, newest cut-off first.

    The village results have no index on the village alone (each stored evaluation would
    write 666,655 entries into it, between every earlier evaluation's): the finished
    evaluations are listed first (``evaluation_id IN (…)``) and each is probed in the unique
    (evaluation, village) index."""
    done = Evaluation.objects.filter(status=EvaluationStatus.DONE).values("pk")
    return (
        VillageResult.objects.filter(evaluation__in=done, village_id=code)
        .select_related("evaluation")
        .order_by("-evaluation__cutoff", "-evaluation__created_at", "-evaluation_id")
    )


def village_latest_result(*, code: str) -> VillageResult:
    result = village_history(code=code).first()
    if result is None:
        raise NotFound(
            _("Village %(code)s is in no finished evaluation") % {"code": code}, field="code"
        )
    return result


def sales_by_platform(result: VillageResult) -> list[dict]:
    """Platforms of a village, largest first, with their share of all sales."""
    amounts = (
        (str(platform), _decimal(fen)) for platform, fen in (result.sales_by_platform or {}).items()
    )
    items = [(platform, int(fen)) for platform, fen in amounts if fen is not None]
    total = sum(fen for _platform, fen in items)
    items.sort(key=lambda item: (-item[1], item[0]))
    return [
        {
            "platform": platform,
            "sales_fen": fen,
            "sales": Money(fen),
            "share_percent": (Decimal(fen * 100) / total).quantize(Decimal("0.1"))
            if total
            else None,
        }
        for platform, fen in items
    ]


def county_choices(*, evaluation: Evaluation, province: str) -> list[tuple[str, str]]:
    """Counties of a province that have results in the evaluation, for a filter."""
    if not province:
        return []
    codes = (
        VillageResult.objects.filter(evaluation=evaluation, county_code__startswith=province[:2])
        .values("county_code")
        .distinct()
    )
    return list(
        Division.objects.filter(code__in=codes).order_by("code").values_list("code", "name")
    )


def province_choices() -> list[tuple[str, str]]:
    return list(
        Division.objects.filter(level=Level.PROVINCE).order_by("code").values_list("code", "name")
    )


# --- towns and clusters --------------------------------------------------------------------


def town_results(*, evaluation: Evaluation, where: ResultFilter) -> QuerySet[TownResult]:
    queryset = _where(
        TownResult.objects.filter(evaluation=evaluation), where, township_field="township_id"
    )
    return _with_places(queryset).order_by(
        "-labeled", "-labeled_villages", "-sales_fen", "township_id"
    )


def cluster_results(*, evaluation: Evaluation) -> QuerySet[ClusterResult]:
    return ClusterResult.objects.filter(evaluation=evaluation).order_by("-villages", "cluster_id")


def cluster_get(*, evaluation: Evaluation, cluster_id: int) -> ClusterResult:
    cluster = (
        ClusterResult.objects.filter(evaluation=evaluation, cluster_id=cluster_id).first()
        if 0 <= cluster_id <= MAX_ID
        else None
    )
    if cluster is None:
        raise NotFound(
            _("No cluster %(cluster)s in evaluation %(id)s")
            % {"cluster": cluster_id, "id": evaluation.pk},
            field="cluster_id",
        )
    return cluster


def cluster_villages(*, evaluation: Evaluation, cluster: ClusterResult) -> QuerySet[VillageResult]:
    codes = [str(code) for code in cluster.village_codes or []]
    return (
        _with_places(evaluation.villages.filter(village_id__in=codes))
        .annotate(township_name=_division_field("township_code", "name"))
        .order_by("village_id")
    )


def village_names(codes: Iterable[str]) -> dict[str, str]:
    return dict(Division.objects.filter(code__in=set(codes)).values_list("code", "name"))


# --- the map -------------------------------------------------------------------------------


def map_points(*, evaluation: Evaluation, where: ResultFilter) -> tuple[list[list], int]:
    """Labelled villages as map points: ``[code, name, lon, lat, located_by, sales_fen]``.

    A village is placed at its own coordinates, else at its township's, else at its
    county's (``located_by`` says which); villages with none of the three are counted as
    unplaced. Coordinates come from the division table in the same query.
    """
    rows = (
        _where(VillageResult.objects.filter(evaluation=evaluation), where)
        .annotate(
            township_lat=_division_field("township_code", "lat"),
            township_lon=_division_field("township_code", "lon"),
            county_lat=_division_field("county_code", "lat"),
            county_lon=_division_field("county_code", "lon"),
        )
        .order_by("village_id")
        .values_list(
            "village_id",
            "name",
            "village__lon",
            "village__lat",
            "township_lon",
            "township_lat",
            "county_lon",
            "county_lat",
            "sales_fen",
        )
    )
    points: list[list] = []
    unplaced = 0
    for code, name, vlon, vlat, tlon, tlat, clon, clat, sales in rows.iterator(chunk_size=2000):
        for lon, lat, located_by in (
            (vlon, vlat, "village"),
            (tlon, tlat, "township"),
            (clon, clat, "county"),
        ):
            if lon is not None and lat is not None:
                points.append([code, name, round(lon, 4), round(lat, 4), located_by, sales])
                break
        else:
            unplaced += 1
    return points, unplaced


def province_counts(*, evaluation: Evaluation, where: ResultFilter) -> list[dict]:
    """Villages per province (the choropleth), counted in the database."""
    grouped = (
        _where(VillageResult.objects.filter(evaluation=evaluation), where)
        .annotate(province_code=_province_code())
        .values("province_code")
        .annotate(villages=Count("id"), sales_fen=Coalesce(Sum("sales_fen"), 0))
        .order_by("province_code")
    )
    rows = list(grouped)
    names = village_names(row["province_code"] for row in rows)
    return [
        {
            "code": row["province_code"],
            "name": names.get(row["province_code"], ""),
            "villages": row["villages"],
            "sales_fen": int(row["sales_fen"]),
        }
        for row in rows
    ]


# --- rounds against the published figures --------------------------------------------------


@dataclass
class RoundLine:
    evaluation: Evaluation
    villages_ratio: Decimal | None
    towns_ratio: Decimal | None


@dataclass
class RoundRow:
    year: int
    published_villages: int | None
    published_towns: int | None
    lines: list[RoundLine]


def ratio_percent(evaluated: int, published: int | None) -> Decimal | None:
    """Evaluated as a percentage of published; None when nothing was published."""
    if not published:
        return None
    return (Decimal(evaluated * 100) / published).quantize(Decimal("0.1"))


def round_comparison() -> list[RoundRow]:
    """Every published round and every round with a finished evaluation, oldest first,
    each finished evaluation's counts beside the published ones.

    An evaluation's round is its ``round_year`` (set from the rule set), else the year of
    its cut-off.
    """
    by_year: dict[int, list[Evaluation]] = {}
    for evaluation in evaluations_done():
        by_year.setdefault(evaluation.round_year or evaluation.cutoff.year, []).append(evaluation)
    rows = []
    for year in sorted(set(PUBLISHED_ROUNDS) | set(by_year)):
        villages, towns = PUBLISHED_ROUNDS.get(year, (None, None))
        evaluations = sorted(by_year.get(year, []), key=lambda e: (e.rule_set, e.cutoff, e.pk))
        rows.append(
            RoundRow(
                year=year,
                published_villages=villages,
                published_towns=towns,
                lines=[
                    RoundLine(
                        evaluation=e,
                        villages_ratio=ratio_percent(e.villages_labeled, villages),
                        towns_ratio=ratio_percent(e.towns_labeled, towns),
                    )
                    for e in evaluations
                ],
            )
        )
    return rows


def evaluation_choices(*, chosen: Evaluation | None = None, limit: int = 50) -> list[Evaluation]:
    """The latest finished evaluations for the filter's select (kept short), always with
    the one being shown."""
    choices = list(evaluations_done()[:limit])
    if chosen is not None and chosen not in choices:
        choices.append(chosen)
    return choices

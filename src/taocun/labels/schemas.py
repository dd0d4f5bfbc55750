"""Shapes of the labels API. Amounts are integer fen (``…_fen``), dates ISO 8601."""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import AfterValidator

from taocun.labels import selectors
from taocun.labels.models import ClusterResult, Evaluation, VillageResult


def _refuse_nul(value: str) -> str:
    # PostgreSQL cannot store or compare text containing NUL: refuse it at the edge.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_refuse_nul)]
StatusName = Literal["queued", "running", "done", "failed"]


# --- evaluations ---------------------------------------------------------------------------


class EvaluationIn(Schema):
    rules: Text = Field(
        min_length=1, max_length=60, description="Name of a rule set (see GET /labels/rule-sets)"
    )
    cutoff: date | None = Field(
        None, description="Cut-off date (China time); the rule set's own cut-off when omitted"
    )


class EvaluationOut(Schema):
    id: int
    rule_set: str
    rule_set_version: str
    round_year: int | None = None
    cutoff: date
    window_start: date | None = None
    source: str
    status: StatusName
    progress: int = Field(description="Per cent done, 0–100")
    progress_note: str
    error: str = Field(description="Why it failed; empty unless status is failed")
    warnings: list[str] = Field(
        description="What makes a finished evaluation doubtful (a window with no sales …)"
    )
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    villages_evaluated: int
    villages_labeled: int
    towns_labeled: int
    clusters: int
    sales_fen: int = Field(description="Counted sales of the labelled villages, in fen")


class EvaluationDetailOut(EvaluationOut):
    published_villages: int | None = Field(
        None, description="Taobao villages AliResearch published for this round, if any"
    )
    published_towns: int | None = None

    @staticmethod
    def resolve_published_villages(obj: Evaluation) -> int | None:
        return selectors.published_figures(obj)[0]

    @staticmethod
    def resolve_published_towns(obj: Evaluation) -> int | None:
        return selectors.published_figures(obj)[1]


class EvaluationListIn(Schema):
    status: StatusName | None = None
    rule_set: Text | None = Field(None, max_length=60)


class RuleSetOut(Schema):
    name: str
    title: str
    round_year: int
    default_cutoff: date = Field(description="The round's own cut-off date")
    summary: str
    sources: list[str]


# --- villages ------------------------------------------------------------------------------


class ResultFilterIn(Schema):
    province: Text = Field("", max_length=12, description="12-digit code of a province")
    county: Text = Field("", max_length=12, description="12-digit code of a county")
    township: Text = Field("", max_length=12, description="12-digit code of a township")
    poverty: Literal["", "national", "provincial", "designated", "none"] = Field(
        "",
        description="Poverty designation of the village's county: national, provincial, "
        "designated (either) or none",
    )
    status: Literal["labeled", "unlabeled", "all"] = Field(
        "labeled", description="Labelled villages only (default), the others, or all"
    )


class PlaceOut(Schema):
    province_code: str | None = None
    province_name: str | None = None
    county_code: str
    county_name: str | None = None
    county_poverty: str | None = Field(
        None, description="national, provincial or empty: the county's designation"
    )


class VillageResultOut(PlaceOut):
    code: str = Field(validation_alias="village_id")
    name: str
    township_code: str
    township_name: str | None = None
    sales_fen: int = Field(description="Sales on the counted platforms, in fen")
    all_sales_fen: int = Field(description="Sales on every platform, in fen")
    main_platform: str
    active_shops: int
    households: int | None = None
    household_share: float | None = Field(
        None, description="Active shops per household (0.1 = 10 %); null when unknown"
    )
    eligible: bool
    labeled: bool
    failed_criteria: list[str]

    @staticmethod
    def resolve_failed_criteria(obj: VillageResult) -> list[str]:
        return selectors.failed_criteria(obj)


class CriterionOut(Schema):
    key: str
    label: str
    passed: bool | None = Field(description="null: unknown (e.g. no households count)")
    outcome: Literal["pass", "fail", "unknown", "not_needed"] = Field(
        description="not_needed: a failed alternative (active shops or household share) "
        "whose partner passed"
    )
    value: Any = None
    threshold: Any = None
    comparison: str | None = Field(None, description=">= (inclusive) or > (exclusive)")
    unit: str | None = Field(None, description="fen, shops, households or platform")
    group: str | None = Field(
        None, description="shops: active shops and household share, one of which suffices"
    )
    gap: Any = Field(None, description="As the engine stored it (fen, shops or households)")
    gap_text: str = Field(description="The gap in words, in the request's language")


class PlatformSalesOut(Schema):
    platform: str
    sales_fen: int
    share_percent: float | None = None


class EvaluationRefOut(Schema):
    id: int
    rule_set: str
    round_year: int | None = None
    cutoff: date


class HistoryOut(Schema):
    evaluation: EvaluationRefOut
    labeled: bool
    sales_fen: int
    active_shops: int
    failed_criteria: list[str]

    @staticmethod
    def resolve_failed_criteria(obj: VillageResult) -> list[str]:
        return selectors.failed_criteria(obj)


class VillageResultDetailOut(VillageResultOut):
    evaluation: EvaluationRefOut
    eligibility_note: str
    sales_by_platform: list[PlatformSalesOut] = Field(description="Largest first")
    criteria: list[CriterionOut]
    gap_text: str = Field(description="What the village still needs, in words")
    history: list[HistoryOut] = Field(description="The village in every finished evaluation")

    # Resolvers are not inherited by ninja schemas: the list's one is repeated here.
    @staticmethod
    def resolve_failed_criteria(obj: VillageResult) -> list[str]:
        return selectors.failed_criteria(obj)

    @staticmethod
    def resolve_sales_by_platform(obj: VillageResult) -> list[dict]:
        return selectors.sales_by_platform(obj)

    @staticmethod
    def resolve_criteria(obj: VillageResult) -> list[dict]:
        return [
            {
                "key": view.key,
                "label": view.label,
                "passed": view.raw.get("passed"),
                "outcome": view.outcome,
                "value": view.raw.get("value"),
                "threshold": view.raw.get("threshold"),
                "comparison": view.raw.get("comparison"),
                "unit": view.raw.get("unit"),
                "group": view.raw.get("group"),
                "gap": view.raw.get("gap"),
                "gap_text": view.gap_text,
            }
            for view in selectors.criteria_explain(obj.criteria)
        ]

    @staticmethod
    def resolve_gap_text(obj: VillageResult) -> str:
        return "" if obj.labeled else selectors.village_gap_summary(obj.criteria)

    @staticmethod
    def resolve_history(obj: VillageResult) -> list[VillageResult]:
        return list(selectors.village_history(code=obj.village_id))


# --- towns and clusters --------------------------------------------------------------------


class TownResultOut(PlaceOut):
    code: str = Field(validation_alias="township_id")
    name: str
    labeled_villages: int
    sales_fen: int
    active_shops: int
    labeled: bool
    basis: str = Field(description="Which rule gave the label (empty when not labelled)")


class ClusterResultOut(Schema):
    cluster_id: int
    villages: int
    sales_fen: int
    size_class: str = Field(description="cluster, large or super_large")
    village_codes: list[str]

    @staticmethod
    def resolve_village_codes(obj: ClusterResult) -> list[str]:
        return [str(code) for code in obj.village_codes or []]


# --- the map and the rounds ----------------------------------------------------------------


class ProvinceCountOut(Schema):
    code: str
    name: str
    villages: int
    sales_fen: int


class MapPointsOut(Schema):
    columns: list[str]
    rows: list[list[Any]]


class MapOut(Schema):
    evaluation: EvaluationRefOut
    provinces: list[ProvinceCountOut] = Field(description="Villages per province (choropleth)")
    points: MapPointsOut = Field(
        description="One row per placed village: code, name, lon, lat, located_by "
        "(village, township or county: whose coordinates place it), sales_fen"
    )
    unplaced: int = Field(
        description="Villages with no coordinates of their own, township or county"
    )


class RoundEvaluationOut(Schema):
    evaluation: EvaluationRefOut
    villages_labeled: int
    towns_labeled: int
    villages_ratio_percent: float | None = None
    towns_ratio_percent: float | None = None


class RoundOut(Schema):
    round: int
    published_villages: int | None = None
    published_towns: int | None = None
    evaluations: list[RoundEvaluationOut]

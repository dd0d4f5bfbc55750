"""The labels API: stored evaluations and their village, town and cluster results, the map
data, the rounds against the published figures, and requesting a new evaluation.

Results are public (the label is published information; no household data is stored in
them), so reading needs no login. Requesting an evaluation goes through
:func:`taocun.labels.access.access_evaluation_request` (program admins and county officers),
which audits every refusal, then :func:`taocun.labels.services.evaluation_request`.
"""

from typing import Annotated

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Path, Query, Router, Status
from ninja.pagination import paginate

from taocun.core.pagination import BoundedLimitOffsetPagination
from taocun.labels import selectors
from taocun.labels.access import access_evaluation_request
from taocun.labels.models import ClusterResult, Evaluation, TownResult, VillageResult
from taocun.labels.schemas import (
    ClusterResultOut,
    EvaluationDetailOut,
    EvaluationIn,
    EvaluationListIn,
    EvaluationOut,
    MapOut,
    ResultFilterIn,
    RoundOut,
    RuleSetOut,
    TownResultOut,
    VillageResultDetailOut,
    VillageResultOut,
)

router = Router()

EvaluationId = Annotated[
    int, Path(ge=1, le=selectors.MAX_ID, description="Number of a stored evaluation", example=1)
]
Code = Annotated[
    str,
    Path(pattern=r"^\d{12}$", description="NBS 12-digit village code", example="330782003210"),
]
ClusterId = Annotated[int, Path(ge=0, le=selectors.MAX_ID)]


def _where(filters: ResultFilterIn) -> selectors.ResultFilter:
    return selectors.result_filter_parse(
        province=filters.province,
        county=filters.county,
        township=filters.township,
        poverty=filters.poverty,
        status=filters.status,
    )


def _done(evaluation_id: int) -> Evaluation:
    return selectors.evaluation_require_done(selectors.evaluation_get(evaluation_id=evaluation_id))


# --- evaluations ---------------------------------------------------------------------------


@router.get("/rule-sets", response=list[RuleSetOut], auth=None, summary="Rule sets")
def rule_set_list(request: HttpRequest) -> list[selectors.RuleSetOption]:
    return selectors.rule_set_options()


@router.get(
    "/evaluations", response=list[EvaluationOut], auth=None, summary="Evaluations, newest first"
)
@paginate(BoundedLimitOffsetPagination)
def evaluation_list(request: HttpRequest, filters: Query[EvaluationListIn]) -> QuerySet[Evaluation]:
    return selectors.evaluation_list(status=filters.status or "", rule_set=filters.rule_set or "")


@router.post(
    "/evaluations",
    response={201: EvaluationOut},
    summary="Request an evaluation (program admins and county officers)",
)
def evaluation_create(request: HttpRequest, payload: EvaluationIn) -> Status:
    """Queues the evaluation and returns at once (status ``queued``); a worker runs it.
    Poll ``GET /labels/evaluations/{id}`` for ``progress`` and ``status``."""
    user = access_evaluation_request(user=request.auth, ip_address=request.META.get("REMOTE_ADDR"))
    rules = selectors.rule_set_check(payload.rules)
    # Imported here: the services import the engine (Ibis), which pages and the read API
    # never need; a process serving them does not pay for it at start-up.
    from taocun.labels.services import evaluation_request

    return Status(201, evaluation_request(actor=user, rules=rules, cutoff=payload.cutoff))


@router.get(
    "/evaluations/{evaluation_id}",
    response=EvaluationDetailOut,
    auth=None,
    summary="One evaluation, with its progress or its counts",
)
def evaluation_detail(request: HttpRequest, evaluation_id: EvaluationId) -> Evaluation:
    return selectors.evaluation_get(evaluation_id=evaluation_id)


# --- results -------------------------------------------------------------------------------


@router.get(
    "/evaluations/{evaluation_id}/villages",
    response=list[VillageResultOut],
    auth=None,
    summary="Villages of an evaluation (labelled ones by default), largest sales first",
)
@paginate(BoundedLimitOffsetPagination)
def village_list(
    request: HttpRequest, evaluation_id: EvaluationId, filters: Query[ResultFilterIn]
) -> QuerySet[VillageResult]:
    return selectors.village_results(evaluation=_done(evaluation_id), where=_where(filters))


@router.get(
    "/evaluations/{evaluation_id}/villages/{code}",
    response=VillageResultDetailOut,
    auth=None,
    summary="One village's result: criteria with their gaps, platforms, history",
)
def village_detail(request: HttpRequest, evaluation_id: EvaluationId, code: Code) -> VillageResult:
    return selectors.village_result_get(evaluation=_done(evaluation_id), code=code)


@router.get(
    "/evaluations/{evaluation_id}/towns",
    response=list[TownResultOut],
    auth=None,
    summary="Townships of an evaluation (Taobao towns by default)",
)
@paginate(BoundedLimitOffsetPagination)
def town_list(
    request: HttpRequest, evaluation_id: EvaluationId, filters: Query[ResultFilterIn]
) -> QuerySet[TownResult]:
    return selectors.town_results(evaluation=_done(evaluation_id), where=_where(filters))


@router.get(
    "/evaluations/{evaluation_id}/clusters",
    response=list[ClusterResultOut],
    auth=None,
    summary="Clusters of labelled villages, largest first",
)
@paginate(BoundedLimitOffsetPagination)
def cluster_list(request: HttpRequest, evaluation_id: EvaluationId) -> QuerySet[ClusterResult]:
    return selectors.cluster_results(evaluation=_done(evaluation_id))


@router.get(
    "/evaluations/{evaluation_id}/map",
    response=MapOut,
    auth=None,
    url_name="labels_evaluation_map",
    summary="Map data: villages per province and labelled villages as points",
)
def evaluation_map(
    request: HttpRequest, evaluation_id: EvaluationId, filters: Query[ResultFilterIn]
) -> dict:
    evaluation = _done(evaluation_id)
    where = _where(filters)
    points, unplaced = selectors.map_points(evaluation=evaluation, where=where)
    return {
        "evaluation": evaluation,
        "provinces": selectors.province_counts(evaluation=evaluation, where=where),
        "points": {
            "columns": ["code", "name", "lon", "lat", "located_by", "sales_fen"],
            "rows": points,
        },
        "unplaced": unplaced,
    }


@router.get(
    "/rounds",
    response=list[RoundOut],
    auth=None,
    summary="Finished evaluations' counts beside the published figures of each round",
)
def round_list(request: HttpRequest) -> list[dict]:
    return [
        {
            "round": row.year,
            "published_villages": row.published_villages,
            "published_towns": row.published_towns,
            "evaluations": [
                {
                    "evaluation": line.evaluation,
                    "villages_labeled": line.evaluation.villages_labeled,
                    "towns_labeled": line.evaluation.towns_labeled,
                    "villages_ratio_percent": line.villages_ratio,
                    "towns_ratio_percent": line.towns_ratio,
                }
                for line in row.lines
            ],
        }
        for row in selectors.round_comparison()
    ]

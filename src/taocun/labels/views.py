"""Pages of the Taobao-Village label: evaluations, labelled villages, towns, clusters, the
map and the rounds against the published figures.

Views parse the query, check access (labels.access) where a role is needed, call selectors
(reads) or the one service (labels.services.evaluation_request) and render. Results are
public; requesting an evaluation is not.
"""

import csv
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from taocun.core.errors import ApplicationError, NotFound, ValidationError
from taocun.core.money import Money
from taocun.labels import selectors
from taocun.labels.access import access_evaluation_request, may_request_evaluation
from taocun.labels.models import Evaluation, EvaluationStatus
from taocun.regions.models import Poverty

PAGE_SIZE = 50
# Progress of a running evaluation is polled this often (htmx "every 2s").
PROGRESS_POLL_SECONDS = 2
# Names of a cluster's villages shown in the list; its page lists them all.
CLUSTER_NAMES_SHOWN = 12


def _page(request: HttpRequest, items) -> Page:
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


def _filter(request: HttpRequest) -> selectors.ResultFilter:
    return selectors.result_filter_parse(
        province=request.GET.get("province", ""),
        county=request.GET.get("county", ""),
        township=request.GET.get("township", ""),
        poverty=request.GET.get("poverty", ""),
        status=request.GET.get("status", ""),
    )


def _chosen_evaluation(request: HttpRequest) -> Evaluation | None:
    """The evaluation a list shows; None (an empty page, not an error) when no evaluation
    has finished yet and none was asked for."""
    evaluation_id = request.GET.get("evaluation", "").strip()
    rule_set = request.GET.get("rule_set", "").strip()
    try:
        return selectors.evaluation_choose(evaluation_id=evaluation_id, rule_set=rule_set)
    except NotFound as error:
        if evaluation_id or rule_set:
            raise
        if error.code == "no_evaluation":
            return None
        raise


def _list_context(request: HttpRequest) -> dict:
    """Evaluation and filters shared by the villages, towns and map pages."""
    evaluation = _chosen_evaluation(request)
    where = _filter(request)
    query = {"evaluation": evaluation.pk} if evaluation else {}
    query.update(where.as_query())
    return {
        "evaluation": evaluation,
        "where": where,
        "query": urlencode(query),
        "evaluation_choices": selectors.evaluation_choices(chosen=evaluation),
        "province_choices": selectors.province_choices(),
        "county_choices": selectors.county_choices(evaluation=evaluation, province=where.province)
        if evaluation
        else [],
        "poverty_choices": [
            ("", _("any county")),
            ("designated", _("poverty counties (national or provincial)")),
            (Poverty.NATIONAL, _("national poverty counties")),
            (Poverty.PROVINCIAL, _("provincial poverty counties")),
            ("none", _("counties not designated")),
        ],
        "status_choices": [
            ("labeled", _("labelled")),
            ("unlabeled", _("not labelled")),
            ("all", _("all evaluated")),
        ],
    }


# --- evaluations ---------------------------------------------------------------------------


def evaluation_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "").strip()
    return render(
        request,
        "labels/evaluation_list.html",
        {
            "evaluations": _page(request, selectors.evaluation_list(status=status)),
            "status": status,
            "query": urlencode({"status": status} if status else {}),
            "status_choices": EvaluationStatus.choices,
            "may_request": may_request_evaluation(request.user),
        },
    )


def evaluation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    evaluation = selectors.evaluation_get(evaluation_id=pk)
    context: dict = {
        "evaluation": evaluation,
        "running": evaluation.status in {EvaluationStatus.QUEUED, EvaluationStatus.RUNNING},
        "may_request": may_request_evaluation(request.user),
        "poll_seconds": PROGRESS_POLL_SECONDS,
    }
    if evaluation.status == EvaluationStatus.DONE:
        published_villages, published_towns = selectors.published_figures(evaluation)
        top = selectors.village_results(
            evaluation=evaluation, where=selectors.ResultFilter(status="labeled")
        )[:10]
        context.update(
            {
                "published_villages": published_villages,
                "published_towns": published_towns,
                "villages_ratio": selectors.ratio_percent(
                    evaluation.villages_labeled, published_villages
                ),
                "top_villages": list(top),
                "query": urlencode({"evaluation": evaluation.pk}),
            }
        )
    return render(request, "labels/evaluation_detail.html", context)


def evaluation_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress fragment htmx polls while an evaluation is queued or running; once it
    has finished or failed, htmx is told to reload the page to show the outcome."""
    evaluation = selectors.evaluation_get(evaluation_id=pk)
    running = evaluation.status in {EvaluationStatus.QUEUED, EvaluationStatus.RUNNING}
    response = render(
        request,
        "labels/_progress.html",
        {"evaluation": evaluation, "running": running, "poll_seconds": PROGRESS_POLL_SECONDS},
    )
    if not running and request.headers.get("HX-Request") == "true":
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def evaluation_new(request: HttpRequest) -> HttpResponse:
    access_evaluation_request(user=request.user, ip_address=request.META.get("REMOTE_ADDR"))
    options = selectors.rule_set_options()
    values = {"rules": request.POST.get("rules", ""), "cutoff": request.POST.get("cutoff", "")}
    error: ApplicationError | None = None
    if request.method == "POST":
        try:
            evaluation = _request_evaluation(request, values)
        except ApplicationError as raised:
            if raised.http_status in {401, 403}:
                raise
            error = raised
        else:
            messages.success(
                request,
                _("Evaluation %(id)s is queued; this page shows its progress.")
                % {"id": evaluation.pk},
            )
            return redirect("labels:evaluation_detail", pk=evaluation.pk)
    return render(
        request,
        "labels/evaluation_new.html",
        {"options": options, "values": values, "error": error},
        status=error.http_status if error else 200,
    )


def _request_evaluation(request: HttpRequest, values: dict) -> Evaluation:
    rules = selectors.rule_set_check(values["rules"])
    cutoff = None
    if values["cutoff"].strip():
        try:
            cutoff = date.fromisoformat(values["cutoff"].strip())
        except ValueError:
            raise ValidationError(
                _("%(value)r is not a date (YYYY-MM-DD)") % {"value": values["cutoff"][:20]},
                field="cutoff",
            ) from None
    # Imported here: the services import the engine (Ibis), which the other pages never need.
    from taocun.labels.services import evaluation_request

    return evaluation_request(actor=request.user, rules=rules, cutoff=cutoff)


# --- villages ------------------------------------------------------------------------------


def village_list(request: HttpRequest) -> HttpResponse:
    context = _list_context(request)
    evaluation = context["evaluation"]
    results = (
        selectors.village_results(evaluation=evaluation, where=context["where"])
        if evaluation
        else []
    )
    context["villages"] = _page(request, results)
    return render(request, "labels/village_list.html", context)


class _Echo:
    """A file-like object whose write() returns the line, for streaming a CSV."""

    def write(self, value: str) -> str:
        return value


CSV_COLUMNS = [
    "code",
    "name",
    "province",
    "county",
    "township",
    "poverty",
    "sales",
    "all_sales",
    "main_platform",
    "active_shops",
    "households",
    "household_share",
    "eligible",
    "labeled",
    "failed_criteria",
]


def village_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered list as CSV (UTF-8, header row, sales in yuan with two decimals,
    booleans as true/false, failed criteria joined by ";"), streamed row by row."""
    evaluation = selectors.evaluation_choose(
        evaluation_id=request.GET.get("evaluation", ""), rule_set=request.GET.get("rule_set", "")
    )
    results = selectors.village_results(evaluation=evaluation, where=_filter(request))
    writer = csv.writer(_Echo(), lineterminator="\n")

    def rows():
        yield writer.writerow(CSV_COLUMNS)
        for result in results.iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    result.village_id,
                    result.name,
                    result.province_name or "",
                    result.county_name or "",
                    result.township_name or "",
                    result.county_poverty or "",
                    Money(result.sales_fen).yuan_text(),
                    Money(result.all_sales_fen).yuan_text(),
                    result.main_platform,
                    result.active_shops,
                    "" if result.households is None else result.households,
                    "" if result.household_share is None else result.household_share,
                    "true" if result.eligible else "false",
                    "true" if result.labeled else "false",
                    ";".join(selectors.failed_criteria(result)),
                ]
            )

    name = slugify(f"taobao-villages-{evaluation.pk}-{evaluation.rule_set}-{evaluation.cutoff}")
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


def village_detail(request: HttpRequest, pk: int, code: str) -> HttpResponse:
    evaluation = selectors.evaluation_require_done(selectors.evaluation_get(evaluation_id=pk))
    result = selectors.village_result_get(evaluation=evaluation, code=code)
    criteria = selectors.criteria_explain(result.criteria)
    return render(
        request,
        "labels/village_detail.html",
        {
            "evaluation": evaluation,
            "result": result,
            "criteria": criteria,
            "gap_summary": "" if result.labeled else selectors.village_gap_summary(result.criteria),
            "eligibility_text": selectors.eligibility_note_text(result),
            "platforms": selectors.sales_by_platform(result),
            "history": list(selectors.village_history(code=result.village_id)),
        },
    )


def village_latest(request: HttpRequest, code: str) -> HttpResponse:
    """A village's result in the latest finished evaluation that has it."""
    result = selectors.village_latest_result(code=code)
    return redirect("labels:village_detail", pk=result.evaluation_id, code=result.village_id)


# --- towns and clusters --------------------------------------------------------------------


def town_list(request: HttpRequest) -> HttpResponse:
    context = _list_context(request)
    evaluation = context["evaluation"]
    towns = (
        selectors.town_results(evaluation=evaluation, where=context["where"]) if evaluation else []
    )
    context["towns"] = _page(request, towns)
    return render(request, "labels/town_list.html", context)


def cluster_list(request: HttpRequest) -> HttpResponse:
    evaluation = _chosen_evaluation(request)
    clusters = _page(
        request, selectors.cluster_results(evaluation=evaluation) if evaluation else []
    )
    shown = CLUSTER_NAMES_SHOWN
    names = selectors.village_names(
        code for cluster in clusters for code in (cluster.village_codes or [])[:shown]
    )
    cluster_rows = [
        {
            "cluster": cluster,
            "names": [names.get(code, code) for code in (cluster.village_codes or [])[:shown]],
            "more": len(cluster.village_codes or []) > shown,
        }
        for cluster in clusters
    ]
    return render(
        request,
        "labels/cluster_list.html",
        {
            "evaluation": evaluation,
            "clusters": clusters,
            "cluster_rows": cluster_rows,
            "evaluation_choices": selectors.evaluation_choices(chosen=evaluation),
            "query": urlencode({"evaluation": evaluation.pk} if evaluation else {}),
        },
    )


def cluster_detail(request: HttpRequest, pk: int, cluster_id: int) -> HttpResponse:
    evaluation = selectors.evaluation_require_done(selectors.evaluation_get(evaluation_id=pk))
    cluster = selectors.cluster_get(evaluation=evaluation, cluster_id=cluster_id)
    return render(
        request,
        "labels/cluster_detail.html",
        {
            "evaluation": evaluation,
            "cluster": cluster,
            "villages": _page(
                request, selectors.cluster_villages(evaluation=evaluation, cluster=cluster)
            ),
        },
    )


# --- map and rounds ------------------------------------------------------------------------


def map_page(request: HttpRequest) -> HttpResponse:
    context = _list_context(request)
    evaluation = context["evaluation"]
    if evaluation:
        context["provinces"] = selectors.province_counts(
            evaluation=evaluation, where=context["where"]
        )
        where = context["where"].as_query()
        context["data_url"] = reverse(
            "api:labels_evaluation_map", kwargs={"evaluation_id": evaluation.pk}
        ) + ("?" + urlencode(where) if where else "")
    context["map_strings"] = {
        "villages": _("Labelled villages"),
        "village": _("Village"),
        "sales": _("Sales"),
        "located_by": {
            "village": _("at the village"),
            "township": _("at its township"),
            "county": _("at its county"),
        },
        "high": _("more"),
        "low": _("fewer"),
        "failed": _("The map could not be loaded."),
    }
    return render(request, "labels/map.html", context)


def rounds(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "labels/rounds.html",
        {"rows": selectors.round_comparison(), "source": selectors.PUBLISHED_SOURCE},
    )

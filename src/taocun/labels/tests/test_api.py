"""The labels API through the HTTP layer and the real database, on stored results."""

import pytest
from django.test import Client

from taocun.accounts.models import Role
from taocun.accounts.services import api_token_create
from taocun.core.models import AuditEntry
from taocun.labels.models import Evaluation, EvaluationStatus, VillageResult
from taocun.labels.tests.factories import (
    EvaluationFactory,
    VillageResultFactory,
    stored_evaluation,
)
from taocun.regions.tests.factories import DivisionFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/labels"


@pytest.fixture
def anonymous() -> Client:
    return Client(headers={"Accept-Language": "en"})


@pytest.fixture
def stored(tree):
    return stored_evaluation(tree)


def _bearer(user) -> Client:
    _token, raw = api_token_create(user=user)
    return Client(headers={"Authorization": f"Bearer {raw}", "Accept-Language": "en"})


def _error(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code, body
    if field is not None:
        assert body.get("field") == field, body
    return body


# --- evaluations -----------------------------------------------------------------------------


def test_evaluations_newest_first_with_pagination_and_filters(stored, anonymous):
    running = EvaluationFactory(
        rule_set="aliresearch-2019", cutoff="2019-06-30", status=EvaluationStatus.RUNNING
    )
    body = anonymous.get(f"{API}/evaluations").json()
    assert body["count"] == 2
    assert [item["id"] for item in body["items"]] == [running.pk, stored.evaluation.pk]
    done = body["items"][1]
    assert done == done | {
        "rule_set": "aliresearch-2016",
        "round_year": 2016,
        "cutoff": "2016-08-31",
        "status": "done",
        "progress": 100,
        "villages_evaluated": 3,
        "villages_labeled": 2,
        "towns_labeled": 1,
        "clusters": 1,
        "sales_fen": 7_500_000_035,
    }
    assert "requested_by" not in done  # who asked is not public
    page = anonymous.get(f"{API}/evaluations?limit=1&offset=1").json()
    assert page["count"] == 2 and [i["id"] for i in page["items"]] == [stored.evaluation.pk]
    only = anonymous.get(f"{API}/evaluations?status=running").json()
    assert [i["id"] for i in only["items"]] == [running.pk]
    assert anonymous.get(f"{API}/evaluations?rule_set=aliresearch-2016").json()["count"] == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=bogus", "status"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("offset=-1", "offset"),
    ],
)
def test_evaluation_list_bad_parameters(db, anonymous, query, field):
    _error(anonymous.get(f"{API}/evaluations?{query}"), 400, "invalid", field)


def test_evaluation_detail_with_published_figures_and_progress(stored, anonymous):
    body = anonymous.get(f"{API}/evaluations/{stored.evaluation.pk}").json()
    assert (body["published_villages"], body["published_towns"]) == (1311, 135)
    running = EvaluationFactory(
        status=EvaluationStatus.RUNNING, progress=57, progress_note="towns", round_year=2030
    )
    body = anonymous.get(f"{API}/evaluations/{running.pk}").json()
    assert (body["status"], body["progress"], body["progress_note"]) == ("running", 57, "towns")
    assert body["published_villages"] is None


@pytest.mark.parametrize(
    ("evaluation_id", "status", "code"),
    [
        ("abc", 400, "invalid"),
        ("0", 400, "invalid"),
        ("-3", 400, "invalid"),
        ("99999999999999999999999", 400, "invalid"),
        ("9223372036854775807", 404, "not_found"),
        ("4242", 404, "not_found"),
    ],
)
def test_bad_evaluation_ids_are_4xx(db, anonymous, evaluation_id, status, code):
    for path in ("", "/villages", "/towns", "/clusters", "/map", "/villages/330782003210"):
        _error(anonymous.get(f"{API}/evaluations/{evaluation_id}{path}"), status, code)


def test_results_of_an_unfinished_evaluation_are_a_conflict(db, anonymous):
    for status in (EvaluationStatus.QUEUED, EvaluationStatus.RUNNING, EvaluationStatus.FAILED):
        evaluation = EvaluationFactory(status=status)
        for path in ("/villages", "/towns", "/clusters", "/map"):
            _error(
                anonymous.get(f"{API}/evaluations/{evaluation.pk}{path}"),
                409,
                "not_finished",
                "evaluation",
            )


# --- villages --------------------------------------------------------------------------------


def test_villages_of_an_evaluation_with_filters(stored, tree, anonymous):
    url = f"{API}/evaluations/{stored.evaluation.pk}/villages"
    body = anonymous.get(url).json()
    assert body["count"] == 2
    first = body["items"][0]
    assert first == {
        "code": tree.dinglou.code,
        "name": "丁楼村民委员会",
        "township_code": tree.daji.code,
        "township_name": "曹县大集镇",
        "county_code": tree.caoxian.code,
        "county_name": "曹县",
        "county_poverty": "provincial",
        "province_code": tree.shandong.code,
        "province_name": "山东省",
        "sales_fen": 6_000_000_000,
        "all_sales_fen": 6_000_000_000,
        "main_platform": "taobao",
        "active_shops": 900,
        "households": None,
        "household_share": None,
        "eligible": True,
        "labeled": True,
        "failed_criteria": [],
    }

    def codes(query: str) -> list[str]:
        response = anonymous.get(f"{url}?{query}")
        assert response.status_code == 200, response.content
        return [item["code"] for item in response.json()["items"]]

    assert codes("status=all&province=330000000000") == [tree.qianchang.code, tree.lizu.code]
    assert codes("status=unlabeled") == [tree.lizu.code]
    assert codes("county=371721000000") == [tree.dinglou.code]
    assert codes("township=330782003000") == [tree.qianchang.code]
    assert codes("poverty=designated") == [tree.dinglou.code]
    assert codes("poverty=national") == []
    assert codes("poverty=none&status=all") == [tree.qianchang.code, tree.lizu.code]
    assert codes("status=all&limit=1&offset=2") == [tree.lizu.code]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("province=33", "province"),
        ("province=330782003210", "province"),
        ("province=3300000000000000", "province"),
        ("county=%00", "county"),
        ("county=371721121227", "county"),
        ("province=330000000000&county=371721000000", "county"),
        ("township=330782003210", "township"),
        ("poverty=rich", "poverty"),
        ("status=maybe", "status"),
        ("limit=100000", "limit"),
        ("offset=99999999999999999999999", "offset"),
    ],
)
def test_bad_village_filters_are_a_400_naming_the_parameter(stored, anonymous, query, field):
    response = anonymous.get(f"{API}/evaluations/{stored.evaluation.pk}/villages?{query}")
    _error(response, 400, "invalid", field)


def test_village_result_detail_explains_criteria_and_history(stored, tree, anonymous):
    older = EvaluationFactory(cutoff="2015-08-31", round_year=2015)
    VillageResultFactory(evaluation=older, village=tree.lizu, sales_fen=500_000_000, labeled=False)
    # Stored as evaluations store them: the shared part on the evaluation, values per village.
    stored_row = VillageResult.objects.get(evaluation=stored.evaluation, village=tree.lizu)
    assert stored.evaluation.criteria_layout and isinstance(stored_row.stored_criteria[0], list)
    body = anonymous.get(
        f"{API}/evaluations/{stored.evaluation.pk}/villages/{tree.lizu.code}"
    ).json()
    assert body["code"] == tree.lizu.code and body["labeled"] is False
    assert body["evaluation"] == {
        "id": stored.evaluation.pk,
        "rule_set": "aliresearch-2016",
        "round_year": 2016,
        "cutoff": "2016-08-31",
    }
    eligibility, sales, main, shops, share = body["criteria"]
    assert sales == {
        "key": "sales",
        "label": "Annual sales",
        "passed": False,
        "outcome": "fail",
        "value": 879_570_000,
        "threshold": 1_000_000_000,
        "comparison": ">=",
        "unit": "fen",
        "group": None,
        "gap": 120_430_000,
        "gap_text": "needs ¥1,204,300.00 more sales",
    }
    assert (eligibility["outcome"], main["outcome"]) == ("pass", "pass")
    assert shops["gap_text"] == "needs 74 more active shops" and shops["group"] == "shops"
    assert (share["value"], share["threshold"], share["gap"]) == ("0.08125", "0.1", 6)
    assert body["gap_text"] == (
        "needs ¥1,204,300.00 more sales and 74 more active shops, "
        "or 6 more active shops to reach 10 % of the households"
    )
    assert body["failed_criteria"] == ["sales", "active_shops", "household_share"]
    assert body["sales_by_platform"] == [
        {"platform": "taobao", "sales_fen": 879_570_000, "share_percent": 100.0}
    ]
    assert [(h["evaluation"]["id"], h["labeled"]) for h in body["history"]] == [
        (stored.evaluation.pk, False),
        (older.pk, False),
    ]


def test_village_result_detail_in_chinese(stored, tree):
    client = Client(headers={"Accept-Language": "zh-hans"})
    body = client.get(
        f"{API}/evaluations/{stored.evaluation.pk}/villages/{tree.dinglou.code}"
    ).json()
    share = body["criteria"][-1]
    assert (share["passed"], share["outcome"], share["gap_text"]) == (None, "unknown", "")
    assert body["gap_text"] == ""


def test_village_result_detail_errors(stored, tree, anonymous):
    url = f"{API}/evaluations/{stored.evaluation.pk}/villages"
    _error(anonymous.get(f"{url}/12345"), 400, "invalid", "code")
    _error(anonymous.get(f"{url}/33078200321x"), 400, "invalid", "code")
    _error(anonymous.get(f"{url}/{tree.yiwu.code}"), 404, "not_found", "code")


# --- towns, clusters, map, rounds, rule sets -------------------------------------------------


def test_towns_and_clusters(stored, tree, anonymous):
    towns = anonymous.get(f"{API}/evaluations/{stored.evaluation.pk}/towns?status=all").json()
    assert [(t["code"], t["labeled"], t["basis"]) for t in towns["items"]] == [
        (tree.daji.code, True, "sales_shops"),
        (tree.choujiang.code, False, ""),
    ]
    assert towns["items"][0]["county_name"] == "曹县"
    assert towns["items"][0]["labeled_villages"] == 1
    one = anonymous.get(
        f"{API}/evaluations/{stored.evaluation.pk}/towns?status=all&township={tree.choujiang.code}"
    )
    assert [t["code"] for t in one.json()["items"]] == [tree.choujiang.code]
    clusters = anonymous.get(f"{API}/evaluations/{stored.evaluation.pk}/clusters").json()
    assert clusters == {
        "count": 1,
        "items": [
            {
                "cluster_id": 1,
                "villages": 2,
                "sales_fen": 7_500_000_000,
                "size_class": "cluster",
                "village_codes": [tree.qianchang.code, tree.dinglou.code],
            }
        ],
    }


def test_map_data_places_villages_by_their_own_township_or_county_coordinates(tree, anonymous):
    tree.choujiang.lat, tree.choujiang.lon = 29.28, 120.05
    tree.choujiang.save(update_fields=["lat", "lon"])
    tree.caoxian.lat, tree.caoxian.lon = 34.82, 115.54
    tree.caoxian.save(update_fields=["lat", "lon"])
    no_coordinates = DivisionFactory(code="330782003299", name="新村", parent=tree.choujiang)
    evaluation = EvaluationFactory()
    for village in (tree.qianchang, tree.lizu, tree.dinglou, no_coordinates):
        VillageResultFactory(evaluation=evaluation, village=village, sales_fen=1_000_000_000)
    VillageResultFactory(evaluation=evaluation, village=DivisionFactory(), labeled=False)

    body = anonymous.get(f"{API}/evaluations/{evaluation.pk}/map").json()
    assert body["evaluation"]["id"] == evaluation.pk
    assert body["points"]["columns"] == ["code", "name", "lon", "lat", "located_by", "sales_fen"]
    assert body["points"]["rows"] == [
        [tree.qianchang.code, "前仓村委会", 120.03, 29.27, "village", 1_000_000_000],
        [no_coordinates.code, "新村", 120.05, 29.28, "township", 1_000_000_000],
        [tree.dinglou.code, "丁楼村民委员会", 115.54, 34.82, "county", 1_000_000_000],
    ]
    # 李祖村: neither it, 后宅街道 nor 义乌市 has coordinates.
    assert body["unplaced"] == 1
    assert body["provinces"] == [
        {"code": "330000000000", "name": "浙江省", "villages": 3, "sales_fen": 3_000_000_000},
        {"code": "370000000000", "name": "山东省", "villages": 1, "sales_fen": 1_000_000_000},
    ]
    filtered = anonymous.get(f"{API}/evaluations/{evaluation.pk}/map?province=370000000000")
    assert [row[0] for row in filtered.json()["points"]["rows"]] == [tree.dinglou.code]


def test_rounds_beside_the_published_figures(stored, anonymous):
    EvaluationFactory(status=EvaluationStatus.RUNNING, round_year=2016)  # not finished
    body = anonymous.get(f"{API}/rounds").json()
    assert [row["round"] for row in body] == [
        2009, 2013, 2014, 2015, 2016, 2017, 2018, 2019, 2020, 2021, 2022
    ]  # fmt: skip
    round_2016 = body[4]
    assert (round_2016["published_villages"], round_2016["published_towns"]) == (1311, 135)
    assert round_2016["evaluations"] == [
        {
            "evaluation": {
                "id": stored.evaluation.pk,
                "rule_set": "aliresearch-2016",
                "round_year": 2016,
                "cutoff": "2016-08-31",
            },
            "villages_labeled": 2,
            "towns_labeled": 1,
            "villages_ratio_percent": 0.2,
            "towns_ratio_percent": 0.7,
        }
    ]


def test_rounds_include_evaluated_years_without_published_figures(db, anonymous):
    EvaluationFactory(round_year=None, cutoff="2024-06-30", villages_labeled=9)
    body = anonymous.get(f"{API}/rounds").json()
    assert body[-1]["round"] == 2024 and body[-1]["published_villages"] is None
    assert body[-1]["evaluations"][0]["villages_ratio_percent"] is None


def test_rule_sets_are_listed_with_their_cutoffs(db, anonymous):
    body = anonymous.get(f"{API}/rule-sets").json()
    by_name = {item["name"]: item for item in body}
    assert by_name["aliresearch-2016"]["default_cutoff"] == "2016-08-31"
    assert by_name["aliresearch-2016"]["round_year"] == 2016
    assert by_name["aliresearch-2016"]["sources"]


# --- requesting an evaluation ----------------------------------------------------------------


def test_requesting_needs_a_login(db, anonymous):
    response = anonymous.post(
        f"{API}/evaluations", {"rules": "aliresearch-2016"}, content_type="application/json"
    )
    _error(response, 401, "not_authenticated")
    assert not Evaluation.objects.exists()


def test_a_buyer_may_not_request_and_the_refusal_is_audited(db, user_with_role):
    buyer = user_with_role(Role.BUYER)
    response = _bearer(buyer).post(
        f"{API}/evaluations", {"rules": "aliresearch-2016"}, content_type="application/json"
    )
    _error(response, 403, "forbidden")
    entry = AuditEntry.objects.get(action="access.denied")
    assert entry.actor == buyer and entry.after == {"what": "evaluation request"}
    assert not Evaluation.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "rules"),
        ({"rules": ""}, "rules"),
        ({"rules": "no-such-rules"}, "rules"),
        ({"rules": "/etc/passwd"}, "rules"),
        ({"rules": "../rules/aliresearch-2016.toml"}, "rules"),
        ({"rules": "aliresearch-2016\u0000"}, "rules"),
        ({"rules": "aliresearch-2016", "cutoff": "2016-13-01"}, "cutoff"),
        ({"rules": "aliresearch-2016", "cutoff": 20160831}, "cutoff"),
    ],
)
def test_bad_requests_name_the_field(tree, user_with_role, payload, field):
    officer = user_with_role(Role.OFFICER, tree.yiwu)
    response = _bearer(officer).post(f"{API}/evaluations", payload, content_type="application/json")
    _error(response, 400, "invalid", field)
    assert not Evaluation.objects.exists()


def test_an_officer_requests_an_evaluation_and_it_is_queued(tree, user_with_role):
    officer = user_with_role(Role.OFFICER, tree.yiwu)
    client = _bearer(officer)
    response = client.post(
        f"{API}/evaluations",
        {"rules": "aliresearch-2016", "cutoff": "2016-08-31"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    evaluation = Evaluation.objects.get()
    assert body["id"] == evaluation.pk and evaluation.requested_by == officer
    assert (body["rule_set"], body["cutoff"]) == ("aliresearch-2016", "2016-08-31")
    assert body["status"] in {"queued", "running", "done", "failed"}
    detail = client.get(f"{API}/evaluations/{evaluation.pk}").json()
    assert detail["id"] == evaluation.pk


def test_every_labels_endpoint_is_in_the_openapi_schema(db, anonymous):
    paths = anonymous.get("/api/v1/openapi.json").json()["paths"]
    assert {path for path in paths if path.startswith("/api/v1/labels/")} == {
        "/api/v1/labels/rule-sets",
        "/api/v1/labels/evaluations",
        "/api/v1/labels/evaluations/{evaluation_id}",
        "/api/v1/labels/evaluations/{evaluation_id}/villages",
        "/api/v1/labels/evaluations/{evaluation_id}/villages/{code}",
        "/api/v1/labels/evaluations/{evaluation_id}/towns",
        "/api/v1/labels/evaluations/{evaluation_id}/clusters",
        "/api/v1/labels/evaluations/{evaluation_id}/map",
        "/api/v1/labels/rounds",
    }

"""Stored evaluations (all or nothing), the background task, explanations and
year-over-year comparisons, on the platform database."""

import json
from decimal import Decimal

import pytest
from django.utils import translation

from taocun.core.errors import Conflict, NotFound, ValidationError
from taocun.core.models import AuditEntry
from taocun.labels import services
from taocun.labels.comparing import evaluations_compare
from taocun.labels.explaining import (
    criterion_text,
    gap_sentence,
    share_text,
    village_criteria_list,
    village_explain,
)
from taocun.labels.models import (
    ClusterResult,
    Evaluation,
    EvaluationStatus,
    TownResult,
    VillageResult,
)
from taocun.labels.services import evaluation_execute, evaluation_request, evaluation_run
from taocun.labels.tasks import evaluation_run_task
from taocun.labels.tests import scenario as world
from taocun.labels.tests.conftest import rules_named
from taocun.regions.models import Division
from taocun.sales.models import Shop, ShopMove


@pytest.fixture
def platform(db, scenario):
    world.load_into_database(scenario)


def run(rules: str = "tiny-2019", **kwargs) -> Evaluation:
    evaluation = evaluation_run(actor=None, rules=rules_named(rules), **kwargs).evaluation
    evaluation.refresh_from_db()
    return evaluation


def test_an_evaluation_is_stored_with_every_result(platform):
    evaluation = run()
    assert evaluation.status == EvaluationStatus.DONE
    assert (evaluation.progress, evaluation.error) == (100, "")
    assert (evaluation.rule_set, evaluation.rule_set_version) == ("tiny-2019", "t1")
    assert str(evaluation.cutoff) == "2019-06-30" and str(evaluation.window_start) == "2018-07-01"
    assert evaluation.round_year == 2019 and evaluation.source == "db"
    assert evaluation.started_at <= evaluation.finished_at
    assert (evaluation.villages_evaluated, evaluation.villages_labeled) == (28, 23)
    assert (evaluation.towns_labeled, evaluation.clusters) == (5, 4)
    labeled = VillageResult.objects.filter(evaluation=evaluation, labeled=True)
    assert evaluation.sales_fen == sum(labeled.values_list("sales_fen", flat=True))

    assert VillageResult.objects.filter(evaluation=evaluation).count() == 28
    platform_village = VillageResult.objects.get(evaluation=evaluation, village_id="330782002202")
    assert platform_village.sales_by_platform == {"jd": 300_000, "taobao": 225_000}
    assert (platform_village.sales_fen, platform_village.all_sales_fen) == (225_000, 525_000)
    assert platform_village.main_platform == "jd"
    share = VillageResult.objects.get(evaluation=evaluation, village_id="330782001203")
    assert share.household_share == Decimal("0.1") and share.labeled
    assert [c["key"] for c in share.criteria] == [
        "eligibility",
        "sales",
        "active_shops",
        "household_share",
    ]
    committee = VillageResult.objects.get(evaluation=evaluation, village_id="330782001105")
    assert (committee.eligible, committee.eligibility_note) == (False, "residents_committee")
    unknown = VillageResult.objects.get(evaluation=evaluation, village_id="330782001204")
    assert unknown.households is None and unknown.household_share is None

    town = TownResult.objects.get(evaluation=evaluation, township_id="330782002000")
    assert (town.labeled_villages, town.labeled, town.basis) == (8, True, "villages+sales_shops")
    clusters = ClusterResult.objects.filter(evaluation=evaluation).order_by("cluster_id")
    assert [(c.cluster_id, c.villages, c.size_class) for c in clusters] == [
        (1, 8, "super_large"),
        (2, 4, "large"),
        (3, 3, "cluster"),
        (4, 3, "cluster"),
    ]
    assert clusters[2].village_codes == ["330782005201", "330782005202", "330782005203"]
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"labels.evaluation_request", "labels.evaluation_store"} <= actions


@pytest.mark.parametrize("rules", ["tiny-2019", "tiny-seed"])
def test_every_village_and_town_is_stored_as_the_engine_computed_it(platform, monkeypatch, rules):
    """The results are written column by column and by batches (5 villages a batch here, so
    28 villages take 6): every stored village and town equals the engine's row. tiny-seed
    counts households with a shop for the share, tiny-2019 active shops."""
    monkeypatch.setattr(services, "STORE_BATCH", 5)
    notes = []
    done = evaluation_run(
        actor=None,
        rules=rules_named(rules),
        store_progress=lambda percent, note: notes.append(note),
    )
    outcome, rule_set = done.outcome, rules_named(rules)
    assert notes.count("villages") == 6

    stored = {r.village_id: r for r in VillageResult.objects.filter(evaluation=done.evaluation)}
    expected = {row["code"]: row for row in outcome.village_rows()}
    assert len(stored) == len(expected) == 28
    numerator = (
        "households_with_shop"
        if rule_set.household_share_basis == "households_with_shop"
        else "active_shops"
    )
    shares = set()
    for code, row in expected.items():
        result = stored[code]
        assert (result.name, result.township_code, result.county_code) == (
            row["name"],
            row["township_code"],
            row["county_code"],
        )
        assert (result.sales_fen, result.all_sales_fen, result.active_shops) == (
            row["sales_fen"],
            row["all_sales_fen"],
            row["active_shops"],
        )
        assert result.sales_by_platform == outcome.platform_sales.get(code, {})
        assert result.main_platform == (row["main_platform"] or "")
        assert result.households == row["households"]
        share = share_text(row[numerator], row["households"]) if row["households"] else None
        assert result.household_share == (Decimal(share) if share else None)
        shares.add(result.household_share)
        assert (result.eligible, result.eligibility_note) == (
            row["eligible"],
            row["eligibility_reason"] or "",
        )
        assert result.criteria == village_criteria_list(row, rule_set)
        assert result.labeled == row["labeled"]
    assert None in shares and len(shares) > 3  # unknown, 0 and fractions

    towns = {t.township_id: t for t in TownResult.objects.filter(evaluation=done.evaluation)}
    assert len(towns) == outcome.towns.num_rows > 0
    for row in outcome.town_rows():
        town = towns[row["code"]]
        assert (town.name, town.county_code, town.labeled_villages, town.sales_fen) == (
            row["name"],
            row["county_code"],
            row["labeled_villages"],
            row["sales_fen"],
        )
        assert (town.active_shops, town.labeled, town.basis) == (
            row["active_shops"],
            row["labeled"],
            row["basis"],
        )


def test_the_evaluation_keeps_the_shared_criteria_once_and_each_village_its_values(
    platform, django_assert_num_queries
):
    from taocun.labels.selectors import ResultFilter, failed_criteria, village_results

    evaluation = run()
    assert [entry["key"] for entry in evaluation.criteria_layout][:2] == ["eligibility", "sales"]
    stored = VillageResult.objects.get(evaluation=evaluation, village_id="330782001203")
    assert all(isinstance(values, list) for values in stored.stored_criteria)
    assert len(json.dumps(stored.stored_criteria)) * 3 < len(json.dumps(stored.criteria))
    assert stored.criteria[1]["key"] == "sales" and stored.criteria[1]["unit"] == "fen"

    # A list of results reads its evaluation once, not once a village.
    evaluation = Evaluation.objects.get(pk=evaluation.pk)
    results = village_results(evaluation=evaluation, where=ResultFilter(status=""))
    with django_assert_num_queries(1):
        failed = [failed_criteria(result) for result in results]
    assert len(failed) == evaluation.villages_evaluated and [] in failed and ["sales"] in failed

    # Results stored whole (before the layout, or by hand) read as they were written.
    whole = [{"key": "sales", "passed": False, "value": 5, "threshold": 10, "gap": 5}]
    VillageResult.objects.filter(pk=stored.pk).update(stored_criteria=whole)
    assert VillageResult.objects.get(pk=stored.pk).criteria == whole


def test_a_village_history_probes_each_finished_evaluation_without_a_village_index(platform):
    from django.db import connection

    from taocun.labels.selectors import village_history

    first, second = run(), run("tiny-2016")
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "labels_villageresult")
    alone = [
        name
        for name, info in constraints.items()
        if info["index"] and info["columns"] == ["village_code"]
    ]
    assert alone == []

    history = village_history(code="330782001203")
    assert [result.evaluation_id for result in history] == [second.pk, first.pk]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            sql, params = history.query.sql_with_params()
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " / ".join(row[-1] for row in cursor.fetchall())
        assert "SEARCH labels_villageresult USING INDEX" in plan, plan
        assert "SCAN labels_villageresult" not in plan, plan


def test_names_are_stored_exactly_whatever_characters_they_hold(platform):
    """Tabs, newlines, backslashes and quotes survive the bulk writes (PostgreSQL's COPY
    escapes them), up to the column's 100 characters."""
    odd = 'Tab\there, back\\slash \\N, "quoted"\nnew line\r 村'
    odd += "长" * (100 - len(odd))
    Division.objects.filter(code="330782001203").update(name=odd)
    Division.objects.filter(code="330782002000").update(name="镇\t\\N")
    evaluation = run()
    village = VillageResult.objects.get(evaluation=evaluation, village_id="330782001203")
    assert village.name == odd and len(odd) == 100
    assert village.labeled and village.household_share == Decimal("0.1")
    town = TownResult.objects.get(evaluation=evaluation, township_id="330782002000")
    assert town.name == "镇\t\\N" and town.labeled_villages == 8


def test_a_failure_midway_stores_nothing_and_marks_the_evaluation_failed(platform):
    notes = []

    def fail_on_towns(percent: int, note: str) -> None:
        notes.append(note)
        if note == "towns":  # the villages are already inserted by now
            raise OSError("disk full")

    with pytest.raises(OSError):
        run(store_progress=fail_on_towns)
    assert notes[-1] == "towns"
    evaluation = Evaluation.objects.get()
    assert evaluation.status == EvaluationStatus.FAILED
    assert evaluation.error == "disk full"
    assert evaluation.finished_at is not None
    assert not VillageResult.objects.exists()
    assert not TownResult.objects.exists()
    assert not ClusterResult.objects.exists()


def test_other_sources_and_no_store_keep_nothing(platform, scenario_folders):
    outcome = evaluation_run(
        actor=None, rules=rules_named("tiny-2019"), source=f"parquet:{scenario_folders['parquet']}"
    )
    assert outcome.evaluation is None and outcome.outcome.villages_labeled == 23
    unstored = evaluation_run(actor=None, rules=rules_named("tiny-2019"), store=False)
    assert unstored.evaluation is None
    assert not Evaluation.objects.exists()


def test_a_request_is_queued_and_the_task_runs_it(platform, django_capture_on_commit_callbacks):
    from django_tasks_db.models import DBTaskResult

    with django_capture_on_commit_callbacks(execute=True):
        evaluation = evaluation_request(actor=None, rules="aliresearch-2019")
    assert evaluation.status == EvaluationStatus.QUEUED and evaluation.started_at is None
    task = DBTaskResult.objects.get()
    assert task.task_path == "taocun.labels.tasks.evaluation_run_task"
    assert task.args_kwargs["args"] == [evaluation.pk]

    evaluation_run_task.call(evaluation.pk)
    evaluation.refresh_from_db()
    assert evaluation.status == EvaluationStatus.DONE
    assert evaluation.villages_labeled == 1  # 大村 meets the published thresholds exactly
    with pytest.raises(Conflict):  # delivered twice: runs once
        evaluation_execute(evaluation_id=evaluation.pk)


def test_a_custom_rule_set_cannot_be_queued(platform):
    with pytest.raises(ValidationError):
        evaluation_request(actor=None, rules=str(world_rules("tiny-2019")))


def world_rules(name):
    from taocun.labels.tests.conftest import RULES_DIR

    return RULES_DIR / f"{name}.toml"


def test_a_changed_rule_set_fails_the_queued_evaluation(platform):
    evaluation = evaluation_request(actor=None, rules="aliresearch-2019")
    Evaluation.objects.filter(pk=evaluation.pk).update(rule_set_digest="0" * 64)
    with pytest.raises(Conflict), translation.override("en"):  # the error is stored in words
        evaluation_execute(evaluation_id=evaluation.pk)
    evaluation.refresh_from_db()
    assert evaluation.status == EvaluationStatus.FAILED and "changed" in evaluation.error
    with pytest.raises(NotFound):
        evaluation_execute(evaluation_id=evaluation.pk + 1000)


def test_a_stored_evaluation_keeps_the_village_a_shop_had(platform):
    before = run()
    shop = Shop.objects.filter(village_id="330782002204").order_by("shop_id").first()
    ShopMove.objects.create(shop=shop, from_village_id="330782002204", to_village_id="330782007202")
    Shop.objects.filter(pk=shop.pk).update(village_id="330782007202")
    after = run()

    def village(evaluation, code):
        result = VillageResult.objects.get(evaluation=evaluation, village_id=code)
        return result.active_shops, result.sales_fen

    assert village(before, "330782002204") == (3, 180_000)
    assert village(after, "330782002204") == (2, 120_000)
    assert village(after, "330782007202") == (1, 60_000)
    assert village(before, "330782007202") == (0, 0)


def test_year_over_year(platform):
    before, after = run("tiny-2019"), run("tiny-2020")
    comparison = evaluations_compare(before_id=before.pk, after_id=after.pk)
    assert [c.code for c in comparison.lost] == ["330782002205", "330782002208"]
    assert comparison.new == [] and len(comparison.kept) == 21
    lost = comparison.lost[0]
    assert (lost.name, lost.sales_before_fen, lost.sales_after_fen) == ("城镇村", 180_000, 180_000)
    assert comparison.towns_new == comparison.towns_lost == []
    back = evaluations_compare(before_id=after.pk, after_id=before.pk)
    assert [c.code for c in back.new] == ["330782002205", "330782002208"]
    with pytest.raises(ValidationError):
        evaluations_compare(before_id=before.pk, after_id=before.pk)
    Evaluation.objects.filter(pk=after.pk).update(status=EvaluationStatus.FAILED)
    with pytest.raises(ValidationError):
        evaluations_compare(before_id=before.pk, after_id=after.pk)


def test_an_explanation_is_the_same_stored_or_computed(platform):
    evaluation = run()
    for code in ("330782002201", "330782001204", "330782001105", "330782002207"):
        stored = village_explain(code=code, evaluation_id=evaluation.pk)
        latest = village_explain(code=code)
        computed = village_explain(code=code, rules=rules_named("tiny-2019"))
        assert stored.criteria == latest.criteria == computed.criteria
        assert stored.labeled == computed.labeled
        assert (stored.evaluation_id, computed.evaluation_id) == (evaluation.pk, None)
    with pytest.raises(NotFound):
        village_explain(code="330782009999", rules=rules_named("tiny-2019"))
    with pytest.raises(ValidationError):
        village_explain(code="33078")


def test_gaps_in_words():
    with translation.override("en"):
        sales = {"key": "sales", "passed": False, "gap": 120_430_000, "threshold": 1_000_000_000}
        shops = {"key": "active_shops", "passed": False, "gap": 14, "group": "shops"}
        share = {
            "key": "household_share",
            "passed": False,
            "gap": 5,
            "unit": "shops",
            "threshold": "0.1",
            "group": "shops",
        }
        assert gap_sentence([sales, shops]) == (
            "needs ¥1,204,300.00 more sales and 14 more active shops"
        )
        assert gap_sentence([shops, share]) == (
            "needs 14 more active shops, or 5 more active shops to reach 10 % of the households"
        )
        unknown = {**share, "passed": None, "gap": None}
        assert gap_sentence([shops, unknown]) == "needs 14 more active shops"
        assert gap_sentence([{**sales, "passed": True, "gap": 0}, {**shops, "passed": True}]) == ""
        ineligible = {"key": "eligibility", "passed": False, "reason": "urban"}
        assert gap_sentence([ineligible, sales]).startswith("not eligible: urban")


def test_the_main_platform_is_explained_by_name_not_code():
    main = {
        "key": "main_platform",
        "passed": False,
        "value": "jd",
        "threshold": ["taobao", "tmall"],
        "all_sales": 5_000,
    }
    with translation.override("en"):
        assert gap_sentence([main]) == "needs Taobao, Tmall as its main platform"
        assert criterion_text(main) == "largest platform: JD.com; must be Taobao, Tmall"
        assert criterion_text({**main, "value": None, "all_sales": 0}) == (
            "no sales, so no main platform (must be Taobao, Tmall)"
        )
    with translation.override("zh-hans"):
        assert gap_sentence([main]) == "还需以淘宝、天猫为主营平台"


def test_an_evaluation_whose_worker_stopped_is_failed_not_left_running(platform, settings):
    from datetime import timedelta
    from io import StringIO

    from django.core.management import call_command
    from django.utils import timezone

    from taocun.labels.services import evaluations_fail_stale

    settings.LABELS_EVALUATION_STALE_MINUTES = 30
    started = timezone.now()
    stopped = services.evaluation_start(actor=None, rules=rules_named("tiny-2019"))
    services.evaluation_progress(evaluation=stopped, percent=40, note="villages")
    alive = services.evaluation_start(actor=None, rules=rules_named("tiny-2019"))
    Evaluation.objects.filter(pk=stopped.pk).update(updated_at=started - timedelta(minutes=31))

    with translation.override("en"):
        assert evaluations_fail_stale(now=started) == [stopped.pk]
    assert evaluations_fail_stale(now=started) == []
    stopped.refresh_from_db()
    assert stopped.status == EvaluationStatus.FAILED and stopped.progress == 40
    assert stopped.error.startswith("The evaluation stopped without finishing")
    assert not VillageResult.objects.filter(evaluation=stopped).exists()
    assert Evaluation.objects.get(pk=alive.pk).status == EvaluationStatus.RUNNING
    assert AuditEntry.objects.filter(action="labels.evaluation_stale").count() == 1

    # From cron, and before every request.
    Evaluation.objects.filter(pk=alive.pk).update(updated_at=started - timedelta(hours=2))
    out = StringIO()
    call_command("labels", "fail-stale", "--language", "en", stdout=out)
    assert out.getvalue() == "1 stopped evaluation(s) marked failed\n"
    assert Evaluation.objects.get(pk=alive.pk).status == EvaluationStatus.FAILED

"""Factories of stored evaluations and their results.

They write the stored shape directly (what the engine stores), so that pages and the API
can be tested without running the engine. ``stored_evaluation`` builds one finished
evaluation over the real slice of ``regions.tests.factories.small_tree``.
"""

from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace

import factory

from taocun.labels.models import (
    ClusterResult,
    Evaluation,
    EvaluationStatus,
    TownResult,
    VillageResult,
)
from taocun.regions.tests.factories import DivisionFactory

YUAN = 100  # fen per yuan


class EvaluationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Evaluation

    rule_set = "aliresearch-2016"
    rule_set_version = "1"
    round_year = 2016
    cutoff = date(2016, 8, 31)
    window_start = date(2015, 9, 1)
    source = "db"
    status = EvaluationStatus.DONE
    progress = 100
    started_at = datetime(2016, 9, 1, 1, 0, tzinfo=UTC)
    finished_at = datetime(2016, 9, 1, 1, 2, tzinfo=UTC)


SALES_THRESHOLD_FEN = 10_000_000 * YUAN
SHOPS_THRESHOLD = 100
SHARE_THRESHOLD = Decimal("0.1")


def village_criteria(
    *,
    sales_fen: int,
    active_shops: int,
    households: int | None,
    main_platform: str = "taobao",
    committee_kind: str = "village",
    eligible: bool = True,
    reason: str = "",
) -> list[dict]:
    """Criteria as the engine stores them (``labels.explaining.village_criteria_list``)
    under the 2016 rules: sales, Taobao as the main platform, and active shops or their
    share of households (the "shops" group: one of the two suffices)."""
    share = None if not households else Decimal(active_shops) / households
    share_passed = None if share is None else share >= SHARE_THRESHOLD
    needed_for_share = None if not households else -(-households // 10)
    return [
        {
            "key": "eligibility",
            "passed": eligible,
            "value": committee_kind,
            "reason": reason,
            "ur_code": "220",
            "rural_only": False,
        },
        {
            "key": "sales",
            "passed": sales_fen >= SALES_THRESHOLD_FEN,
            "value": sales_fen,
            "threshold": SALES_THRESHOLD_FEN,
            "comparison": ">=",
            "gap": max(0, SALES_THRESHOLD_FEN - sales_fen),
            "unit": "fen",
            "counted_platforms": ["all"],
        },
        {
            "key": "main_platform",
            "passed": main_platform == "taobao",
            "value": main_platform,
            "threshold": ["taobao"],
            "min_share": None,
            "or_largest": True,
            "main_sales": sales_fen if main_platform == "taobao" else 0,
            "all_sales": sales_fen,
            "unit": "platform",
        },
        {
            "key": "active_shops",
            "passed": active_shops >= SHOPS_THRESHOLD,
            "value": active_shops,
            "threshold": SHOPS_THRESHOLD,
            "comparison": ">=",
            "gap": max(0, SHOPS_THRESHOLD - active_shops),
            "unit": "shops",
            "group": "shops",
        },
        {
            "key": "household_share",
            "passed": share_passed,
            "value": None
            if share is None
            else str(share.quantize(Decimal("0.000001")).normalize()),
            "threshold": "0.1",
            "comparison": ">=",
            "gap": None if share is None else max(0, needed_for_share - active_shops),
            "unit": "shops",
            "basis": "shops_per_household",
            "households": households,
            "numerator": active_shops,
            "shops_without_household": None,
            "group": "shops",
        },
    ]


def _parent_code(village, level_up: int) -> str:
    division = village
    for _step in range(level_up):
        division = division.parent if division.parent_id else division
    return division.code


# Fields of a criterion that are the same for every village of an evaluation (the rule
# set's): kept once in the evaluation's layout, as ``explaining.criteria_layout`` does.
SHARED_FIELDS = frozenset(
    {
        "threshold",
        "comparison",
        "unit",
        "counted_platforms",
        "rural_only",
        "min_share",
        "or_largest",
        "basis",
        "group",
    }
)


def stored_criteria(evaluation: Evaluation, criteria: list[dict]) -> list:
    """``criteria`` as ``evaluation_store`` writes them: the shared part once, as the
    evaluation's layout (set by its first result), and the village's own values. Criteria
    of another shape than the evaluation's layout (a test's own) are stored whole, as
    results stored before the layout were."""
    layout = [
        {
            "key": criterion["key"],
            "fields": [name for name in criterion if name != "key"],
            "constants": {name: criterion[name] for name in criterion if name in SHARED_FIELDS},
        }
        for criterion in criteria
    ]
    if not evaluation.criteria_layout:
        evaluation.criteria_layout = layout
        evaluation.save(update_fields=["criteria_layout"])
    if evaluation.criteria_layout != layout:
        return list(criteria)
    return [
        [value for name, value in criterion.items() if name != "key" and name not in SHARED_FIELDS]
        for criterion in criteria
    ]


class VillageResultFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VillageResult

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        criteria = kwargs.pop("criteria")
        if "stored_criteria" not in kwargs:
            kwargs["stored_criteria"] = stored_criteria(kwargs["evaluation"], criteria)
        return super()._create(model_class, *args, **kwargs)

    evaluation = factory.SubFactory(EvaluationFactory)
    village = factory.SubFactory(DivisionFactory)
    name = factory.LazyAttribute(lambda o: o.village.name)
    township_code = factory.LazyAttribute(lambda o: _parent_code(o.village, 1))
    county_code = factory.LazyAttribute(lambda o: _parent_code(o.village, 2))
    sales_fen = 12_000_000 * YUAN
    all_sales_fen = factory.LazyAttribute(lambda o: o.sales_fen)
    sales_by_platform = factory.LazyAttribute(lambda o: {"taobao": o.sales_fen})
    main_platform = "taobao"
    active_shops = 150
    households = factory.LazyAttribute(lambda o: o.village.households)
    eligible = True
    labeled = True
    criteria = factory.LazyAttribute(
        lambda o: village_criteria(
            sales_fen=o.sales_fen,
            active_shops=o.active_shops,
            households=o.households,
            main_platform=o.main_platform,
        )
    )


class TownResultFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TownResult

    evaluation = factory.SubFactory(EvaluationFactory)
    township = factory.SubFactory(DivisionFactory, level="township")
    name = factory.LazyAttribute(lambda o: o.township.name)
    county_code = factory.LazyAttribute(lambda o: _parent_code(o.township, 1))
    labeled_villages = 3
    sales_fen = 40_000_000 * YUAN
    active_shops = 400
    labeled = True
    basis = "villages"


class ClusterResultFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClusterResult

    evaluation = factory.SubFactory(EvaluationFactory)
    cluster_id = factory.Sequence(lambda n: n + 1)
    villages = factory.LazyAttribute(lambda o: len(o.village_codes))
    sales_fen = 150_000_000 * YUAN
    size_class = "cluster"
    village_codes = factory.LazyFunction(list)


def stored_evaluation(tree, **fields) -> SimpleNamespace:
    """A finished evaluation of the small tree: 前仓村 (Yiwu) labelled; 李祖村 (Yiwu) short
    of sales and shops; 丁楼村 (Cao county, a provincial poverty county, no households
    count) labelled with its household share unknown; 稠江街道 and 曹县大集镇 as townships,
    one a Taobao town; one cluster of the two labelled villages."""
    evaluation = EvaluationFactory(
        villages_evaluated=3,
        villages_labeled=2,
        towns_labeled=1,
        clusters=1,
        sales_fen=(15_000_000 + 60_000_000) * YUAN + 35,
        **fields,
    )
    qianchang = VillageResultFactory(
        evaluation=evaluation,
        village=tree.qianchang,
        sales_fen=15_000_000 * YUAN + 35,
        all_sales_fen=16_500_000 * YUAN + 35,
        sales_by_platform={
            "taobao": 12_000_000 * YUAN + 35,
            "tmall": 3_000_000 * YUAN,
            "pinduoduo": 1_500_000 * YUAN,
        },
        active_shops=180,
        household_share=Decimal("0.120000"),
    )
    lizu = VillageResultFactory(
        evaluation=evaluation,
        village=tree.lizu,
        sales_fen=8_795_700 * YUAN,
        all_sales_fen=8_795_700 * YUAN,
        active_shops=26,
        household_share=Decimal("0.081250"),
        labeled=False,
    )
    dinglou = VillageResultFactory(
        evaluation=evaluation,
        village=tree.dinglou,
        sales_fen=60_000_000 * YUAN,
        active_shops=900,
        households=None,
        household_share=None,
    )
    choujiang = TownResultFactory(
        evaluation=evaluation,
        township=tree.choujiang,
        labeled_villages=1,
        sales_fen=15_000_000 * YUAN,
        active_shops=180,
        labeled=False,
        basis="",
    )
    daji = TownResultFactory(
        evaluation=evaluation,
        township=tree.daji,
        labeled_villages=1,
        sales_fen=60_000_000 * YUAN,
        active_shops=900,
        labeled=True,
        basis="sales_shops",
    )
    cluster = ClusterResultFactory(
        evaluation=evaluation,
        cluster_id=1,
        sales_fen=75_000_000 * YUAN,
        size_class="cluster",
        village_codes=[tree.qianchang.code, tree.dinglou.code],
    )
    return SimpleNamespace(
        evaluation=evaluation,
        qianchang=qianchang,
        lizu=lizu,
        dinglou=dinglou,
        choujiang=choujiang,
        daji=daji,
        cluster=cluster,
    )

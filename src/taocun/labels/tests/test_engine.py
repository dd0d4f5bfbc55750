"""The engine's rules, on every backend (the ``evaluate`` fixture of ``conftest.py``).

Every expected number is computed by hand from ``scenario.py``; the same assertions run on
the platform database, DuckDB (typed and text Parquet) and PySpark.
"""

import datetime as dt
import math

import pytest
from django.utils import translation

from taocun.labels.tests.conftest import Evaluated

RULE_SETS = ["tiny-2019", "tiny-strict", "tiny-2016", "tiny-2020", "tiny-seed", "aliresearch-2019"]


def test_thresholds_are_inclusive_at_exactly_the_boundary(evaluate):
    result = evaluate("tiny-2019")
    exact = result.village("330782001201")  # 整数村: ¥1,000.00 and 3 active shops
    assert (exact["sales_fen"], exact["active_shops"]) == (100_000, 3)
    assert exact["sales_passed"] and exact["active_shops_passed"]
    assert (exact["sales_gap_fen"], exact["active_shops_gap"]) == (0, 0)
    assert exact["labeled"]
    short = result.village("330782001202")  # 差一村: one fen short
    assert short["sales_fen"] == 99_999
    assert not short["sales_passed"] and short["sales_gap_fen"] == 1
    assert not short["labeled"]
    share = result.village("330782001203")  # 户比村: 2 shops for 20 households = 10 %
    assert not share["active_shops_passed"] and share["active_shops_gap"] == 1
    assert share["household_share_passed"] is True and share["household_share_gap"] == 0
    assert math.isclose(share["household_share"], 0.1)
    assert share["labeled"]


def test_exclusive_comparisons_fail_at_exactly_the_boundary(evaluate):
    result = evaluate("tiny-strict")
    exact = result.village("330782001201")
    assert not exact["sales_passed"] and exact["sales_gap_fen"] == 1
    assert not exact["active_shops_passed"] and exact["active_shops_gap"] == 1
    assert not exact["labeled"]
    share = result.village("330782001203")  # 10 % is not more than 10 %: one more shop
    assert share["household_share_passed"] is False and share["household_share_gap"] == 1
    assert not share["labeled"]


def test_window_runs_in_china_time_to_the_end_of_the_cutoff_day(evaluate):
    # 整数村's orders at 2018-07-01 00:00:00 and 2019-06-30 23:59:59 (China) count; those at
    # 2018-06-30 23:59:59.999 and 2019-07-01 00:00:00 do not.
    assert evaluate("tiny-2019").village("330782001201")["sales_fen"] == 100_000


def test_active_shops_by_age_activity_refunds_and_closing(evaluate):
    village = evaluate("tiny-2019").village("330782002201")  # 新店村
    # Active: A (exactly 30 days, 1 order), C2 (2 orders, exactly at the real-age limit),
    # D (47 days, 2 orders), E (3 orders), I (partial refund), K (closed at the very end).
    # Not: B (a second too young), C/C3 (too old for 2 orders), F (2 orders in the window),
    # G (cancelled), H (fully refunded), J (closed before the end), L (JD, not counted).
    assert village["active_shops"] == 6
    assert village["open_shops"] == 12  # every counted shop but J
    # Counted value: amounts minus refunds, cancelled orders count nothing.
    assert village["sales_fen"] == 356_000
    assert village["all_sales_fen"] == 386_000  # with JD
    assert village["labeled"]


def test_platforms_not_counted(evaluate):
    result = evaluate("tiny-2019")  # Alibaba platforms only
    village = result.village("330782002202")  # 平台村: JD outsells Taobao
    assert (village["sales_fen"], village["all_sales_fen"]) == (225_000, 525_000)
    assert village["active_shops"] == 3
    assert village["main_platform"] == "jd"
    assert village["main_platform_passed"] is None  # no main-platform rule in 2019
    assert village["labeled"]
    assert result.village("330782002201")["active_shops"] == 6  # L (JD) is not active


def test_main_platform_rule(evaluate):
    result = evaluate("tiny-2016")  # every platform counts; Taobao must be the largest
    jd_first = result.village("330782002202")
    assert jd_first["sales_fen"] == 525_000 and jd_first["active_shops"] == 4
    assert jd_first["main_platform_passed"] is False
    assert not jd_first["labeled"]
    tie = result.village("330782002203")  # Taobao and JD tie: Taobao is a largest
    assert tie["main_platform_passed"] is True and tie["labeled"]
    assert result.village("330782002201")["active_shops"] == 7  # L counts now
    nothing = result.village("330782007202")  # no sales, no main platform
    assert nothing["main_platform"] is None and nothing["main_platform_passed"] is False


def test_residents_committees_are_not_eligible(evaluate):
    village = evaluate("tiny-2019").village("330782001105")
    assert village["committee_kind"] == "residents"
    assert not village["eligible"]
    assert village["eligibility_reason"] == "residents_committee"
    assert village["sales_passed"] and village["active_shops_passed"]
    assert not village["labeled"]


def test_urban_codes_are_not_eligible_from_2020(evaluate):
    urban, no_code = "330782002205", "330782002208"
    before = evaluate("tiny-2019")
    assert before.village(urban)["labeled"] and before.village(no_code)["labeled"]
    after = evaluate("tiny-2020")
    assert after.village(urban)["eligibility_reason"] == "urban"
    assert after.village(no_code)["eligibility_reason"] == "ur_code_unknown"
    assert not after.village(urban)["labeled"] and not after.village(no_code)["labeled"]
    assert after.village("330782002201")["labeled"]  # rural (220) villages still are


@pytest.mark.parametrize("code", ["330782001204", "330782001205"])  # households None, 0
def test_unknown_households_make_the_share_unknown_not_an_error(evaluate, code):
    village = evaluate("tiny-2019").village(code)
    assert village["household_share"] is None
    assert village["household_share_passed"] is None
    assert village["household_share_gap"] is None
    assert village["sales_passed"] and not village["active_shops_passed"]
    assert not village["labeled"]


def test_households_with_an_active_shop(evaluate):
    result = evaluate("tiny-seed")  # share of households with a shop; sales > ¥1,000.00
    two = result.village("330782002204")  # 3 shops, 2 families, 20 households
    assert (two["households_with_shop"], two["active_shops"]) == (2, 3)
    assert two["household_share_passed"] is True and two["labeled"]
    one = result.village("330782002206")  # 3 shops of one family
    assert one["households_with_shop"] == 1
    assert one["household_share_passed"] is False and one["household_share_gap"] == 1
    assert not one["labeled"]
    unknown = result.village("330782002207")  # 1 family known, 2 shops without one
    assert (unknown["households_with_shop"], unknown["active_shops_no_household"]) == (1, 2)
    assert unknown["household_share_passed"] is None
    assert not unknown["labeled"]


def test_town_rules(evaluate):
    result = evaluate("tiny-2019")
    jia = result.town("330782001000")  # 2 labelled villages, but big sales and shops
    assert (jia["labeled_villages"], jia["sales_fen"], jia["active_shops"]) == (2, 1_849_999, 17)
    assert jia["labeled"] and jia["basis"] == "sales_shops"
    yi = result.town("330782002000")
    assert yi["labeled_villages"] == 8 and yi["basis"] == "villages+sales_shops"
    ding = result.town("330782004000")  # sales exactly ¥5,000.00: not more than
    assert (ding["sales_fen"], ding["active_shops"]) == (500_000, 6)
    assert not ding["labeled"] and ding["sales_gap_fen"] == 1 and ding["basis"] == ""
    older = evaluate("tiny-2016")  # before 2019: only the 3-villages rule
    assert not older.town("330782001000")["labeled"]
    assert older.town("330782002000")["basis"] == "villages"
    assert older.town("330782002000")["labeled_villages"] == 7  # 平台村 sells mainly on JD


def test_clusters_by_distance_township_and_county(evaluate):
    clusters = evaluate("tiny-2019").outcome.clusters
    assert [(c.cluster_id, c.size_class, c.village_codes, c.sales_fen) for c in clusters] == [
        (
            1,
            "super_large",  # 乙镇: no coordinates of their own, one township
            tuple(f"33078200220{n}" for n in range(1, 9)),
            356_000 + 225_000 + 180_000 * 6,
        ),
        # 曹县: no coordinates at any level: one county
        (2, "large", ("371721101201", "371721101202", "371721102201", "371721102202"), 720_000),
        # 戊镇: own coordinates 2.2 km apart; the fourth is 22 km away
        (3, "cluster", ("330782005201", "330782005202", "330782005203"), 540_000),
        # 己镇: two without coordinates join the third through their township
        (4, "cluster", ("330782006201", "330782006202", "330782006203"), 540_000),
    ]


def test_a_cutoff_with_no_data_fails_every_village_with_clear_gaps(evaluate):
    result = evaluate("tiny-2019", dt.date(2010, 6, 30))
    assert result.outcome.window.start == dt.date(2009, 7, 1)
    assert result.outcome.villages_evaluated == 28
    assert result.labeled() == set()
    village = result.village("330782002201")
    assert (village["sales_fen"], village["active_shops"], village["open_shops"]) == (0, 0, 0)
    assert (village["sales_gap_fen"], village["active_shops_gap"]) == (100_000, 3)
    assert village["household_share_gap"] == 20
    assert not any(row["labeled"] for row in result.outcome.town_rows())
    assert result.outcome.clusters == []
    with translation.override("en"):
        (warning,) = result.outcome.warnings
    assert warning.startswith("No sales at all from 2009-07-01 to 2010-06-30")


def test_an_evaluation_with_sales_says_nothing_doubtful(evaluate):
    result = evaluate("tiny-2019", dt.date(2019, 6, 30))
    assert result.outcome.warnings == []


def test_the_published_2019_thresholds_met_exactly(evaluate):
    result = evaluate("aliresearch-2019")
    big = result.village("330782007201")  # 大村
    assert (big["sales_fen"], big["active_shops"]) == (1_000_000_000, 100)
    assert big["labeled"]
    assert result.labeled() == {"330782007201"}
    new_shops = result.village("330782002201")
    assert new_shops["sales_gap_fen"] == 1_000_000_000 - 356_000
    assert (new_shops["active_shops_gap"], new_shops["household_share_gap"]) == (94, 14)


def _comparable(result: Evaluated) -> tuple:
    def clean(row: dict) -> dict:
        return {
            key: round(value, 9) if isinstance(value, float) else value
            for key, value in row.items()
        }

    outcome = result.outcome
    return (
        [clean(row) for row in outcome.village_rows()],
        [clean(row) for row in outcome.town_rows()],
        outcome.clusters,
    )


@pytest.mark.parametrize("rules", RULE_SETS)
def test_every_backend_gives_identical_results(evaluate, reference, rules):
    """Villages, towns and clusters, every column, against DuckDB over typed Parquet."""
    assert _comparable(evaluate(rules)) == _comparable(reference(rules))


@pytest.mark.parametrize("rules", RULE_SETS)
def test_the_csv_failed_criteria_match_the_explanations(reference, rules):
    from taocun.labels.explaining import failed_criteria, village_criteria_list
    from taocun.labels.exporting import failed_column
    from taocun.labels.tests.conftest import rules_named

    outcome = reference(rules).outcome
    rule_set = rules_named(rules)
    expected = [
        ";".join(failed_criteria(village_criteria_list(row, rule_set)))
        for row in outcome.village_rows()
    ]
    assert failed_column(outcome.villages, rule_set).to_pylist() == expected


def _stored_criteria(villages, rule_set) -> list[list[dict]]:
    """The criteria of every village as a stored evaluation keeps them (the layout once, the
    values per village, through JSON text) and reads them back."""
    import json

    from taocun.labels.criteria import criteria_expand
    from taocun.labels.explaining import criteria_layout, criteria_values_column

    layout = json.loads(json.dumps(criteria_layout(villages, rule_set)))
    return [
        criteria_expand(layout, json.loads(text))
        for text in criteria_values_column(villages, rule_set).to_pylist()
    ]


@pytest.mark.parametrize("rules", RULE_SETS)
def test_the_stored_criteria_read_back_as_the_criteria(reference, rules):
    from taocun.labels.explaining import village_criteria_list
    from taocun.labels.tests.conftest import rules_named

    outcome = reference(rules).outcome
    rule_set = rules_named(rules)
    assert _stored_criteria(outcome.villages, rule_set) == [
        village_criteria_list(row, rule_set) for row in outcome.village_rows()
    ]


def test_the_stored_criteria_keep_only_the_values_of_each_village(reference):
    import json

    from taocun.labels.explaining import criteria_layout, criteria_values_column
    from taocun.labels.tests.conftest import rules_named

    villages = reference("aliresearch-2019").outcome.villages
    rule_set = rules_named("aliresearch-2019")
    layout = criteria_layout(villages, rule_set)
    assert [entry["key"] for entry in layout] == [
        "eligibility",
        "sales",
        "active_shops",
        "household_share",
    ]
    sales = layout[1]
    assert sales["fields"] == [
        "passed",
        "value",
        "threshold",
        "comparison",
        "gap",
        "unit",
        "counted_platforms",
    ]
    assert sales["constants"] == {
        "threshold": 1_000_000_000,
        "comparison": ">=",
        "unit": "fen",
        "counted_platforms": list(rule_set.counted_platforms),
    }
    first = json.loads(criteria_values_column(villages.slice(0, 1), rule_set)[0].as_py())
    row = villages.slice(0, 1).to_pylist()[0]
    assert first[1] == [bool(row["sales_passed"]), row["sales_fen"], row["sales_gap_fen"]]
    assert [len(values) for values in first] == [
        len(entry["fields"]) - len(entry["constants"]) for entry in layout
    ]


def test_the_stored_criteria_of_a_village_with_no_committee_kind(reference):
    import pyarrow as pa

    from taocun.labels.explaining import village_criteria_list
    from taocun.labels.tests.conftest import rules_named

    villages = reference("tiny-2016").outcome.villages
    index = villages.schema.get_field_index("committee_kind")
    villages = villages.set_column(
        index, "committee_kind", pa.nulls(villages.num_rows, pa.string())
    )
    rule_set = rules_named("tiny-2016")
    stored = _stored_criteria(villages, rule_set)
    assert stored == [village_criteria_list(row, rule_set) for row in villages.to_pylist()]
    assert {criteria[0]["value"] for criteria in stored} == {""}


@pytest.mark.parametrize("odd", ['jd"', "a\\b", "tab\there", "中文", "line\nbreak"])
def test_the_stored_criteria_json_escapes_text(reference, odd):
    import pyarrow as pa

    from taocun.labels.explaining import village_criteria_list
    from taocun.labels.tests.conftest import rules_named

    villages = reference("tiny-2016").outcome.villages
    index = villages.schema.get_field_index("main_platform")
    villages = villages.set_column(
        index, "main_platform", pa.array([odd] * villages.num_rows, pa.string())
    )
    rule_set = rules_named("tiny-2016")
    assert _stored_criteria(villages, rule_set) == [
        village_criteria_list(row, rule_set) for row in villages.to_pylist()
    ]

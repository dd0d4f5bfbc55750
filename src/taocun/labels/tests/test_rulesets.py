"""Rule-set files: the shipped rounds, and strict validation of custom files."""

import datetime as dt
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taocun.core.errors import NotFound, ValidationError
from taocun.labels.rulesets import Threshold, rule_set_load, rule_sets_shipped

TINY = Path(__file__).parent / "data" / "rules" / "tiny-2019.toml"


def test_the_shipped_rounds():
    shipped = {rules.name: rules for rules in rule_sets_shipped()}
    assert set(shipped) == {
        "aliresearch-2016",
        "aliresearch-2019",
        "aliresearch-2020",
        "aliresearch-2022",
        "seed-article",
    }
    for rules in shipped.values():
        assert rules.sources and rules.shipped and len(rules.digest) == 64
        assert rules.village_sales.threshold == 1_000_000_000

    r2016 = shipped["aliresearch-2016"]
    window = r2016.window_for()
    assert (window.start, window.cutoff) == (dt.date(2015, 9, 1), dt.date(2016, 8, 31))
    assert window.activity_start == dt.date(2016, 6, 1)
    assert r2016.counted_platforms is None and r2016.main_platforms == ("taobao",)
    assert r2016.town_sales is None

    r2019 = shipped["aliresearch-2019"]
    assert "taobao" in r2019.counted_platforms and "jd" not in r2019.counted_platforms
    assert r2019.town_sales == Threshold(3_000_000_000, ">")
    assert r2019.town_active_shops == Threshold(300, ">")
    assert not r2019.rural_only and shipped["aliresearch-2020"].rural_only

    r2022 = shipped["aliresearch-2022"].window_for()
    assert (r2022.start, r2022.cutoff) == (dt.date(2021, 7, 1), dt.date(2022, 6, 30))

    seed = shipped["seed-article"]
    assert seed.village_sales.comparison == ">"
    assert seed.household_share_basis == "households_with_shop"
    assert seed.village_household_share.threshold == Fraction(1, 10)

    for rules in shipped.values():
        assert rules.cluster_large.threshold == 30
        assert rules.cluster_super_large == Threshold(100, ">")


def test_a_cutoff_moves_the_window():
    rules = rule_set_load("aliresearch-2019")
    window = rules.window_for(dt.date(2020, 2, 29))
    assert (window.start, window.activity_start) == (dt.date(2019, 3, 1), dt.date(2019, 12, 1))
    explicit = rule_set_load("aliresearch-2022").window_for(dt.date(2023, 6, 30))
    assert explicit.start == dt.date(2022, 7, 1)


def test_unknown_name_lists_the_shipped_ones():
    with pytest.raises(NotFound) as info:
        rule_set_load("aliresearch-2018")
    assert "aliresearch-2019" in info.value.message


def _custom(tmp_path, old: str, new: str) -> Path:
    text = TINY.read_text()
    assert old in text, old
    path = tmp_path / "custom.toml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("[village]\n", "[village]\nsalse = 1\n", "village.salse"),
        ("threshold_fen = 100_000", "threshhold_fen = 100_000", "village.sales.threshhold_fen"),
        ("threshold_fen = 100_000", "threshold_fen = -1", "village.sales.threshold_fen"),
        ("threshold = 0.1,", "threshold = 1.5,", "village.household_share.threshold"),
        ("threshold = 0.1,", "threshold = -0.1,", "village.household_share.threshold"),
        ("months = 12", "months = 0", "window.months"),
        ('sales = { comparison = ">="', 'sales = { comparison = "=>"', "village.sales.comparison"),
        ('basis = "shops_per_household"', 'basis = "per_shop"', "village.household_share.basis"),
        ("min_age_days = 30", 'min_age_days = "30"', "active_shop.min_age_days"),
        ("min_age_days = 30", "min_age_days = true", "active_shop.min_age_days"),
        ("rural_only = false", "rural_only = 0", "eligibility.rural_only"),
        (
            'committees = ["village", "village_like"]',
            'committees = ["hamlet"]',
            "eligibility.committees",
        ),
        ("cutoff = 2019-06-30", 'cutoff = "2019-06-30"', "window.cutoff"),
        ("max_distance_km = 5.0", "max_distance_km = 0", "cluster.max_distance_km"),
        (
            'large = { comparison = ">=", threshold = 4 }',
            'large = { comparison = ">=", threshold = 40 }',
            "cluster.large",
        ),
        ('version = "t1"\n', "", "version"),
        ("months = 12", "months = 12\ndays = 365", "window"),
        ('counted = ["taobao"', 'main = ["jd"]\ncounted = ["taobao"', "platforms.main"),
        ('name = "tiny-2019"', 'name = "tiny 2019!"', "name"),
    ],
)
def test_a_bad_file_names_the_key_and_the_file(tmp_path, old, new, key):
    path = _custom(tmp_path, old, new)
    with pytest.raises(ValidationError) as info:
        rule_set_load(str(path))
    assert info.value.field == key
    assert info.value.location == str(path)
    assert key in str(info.value) and str(path) in str(info.value)


def test_not_toml_at_all(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("name = \n")
    with pytest.raises(ValidationError) as info:
        rule_set_load(str(path))
    assert (info.value.field, info.value.location) == ("file", str(path))


def test_a_missing_file(tmp_path):
    with pytest.raises(NotFound):
        rule_set_load(str(tmp_path / "nothing.toml"))


def test_a_custom_file_loads_with_its_own_digest(tmp_path):
    path = _custom(tmp_path, 'version = "t1"', 'version = "t2"')
    custom, tiny = rule_set_load(str(path)), rule_set_load(str(TINY))
    assert (custom.version, custom.shipped) == ("t2", False)
    assert custom.digest != tiny.digest


@given(
    threshold=st.fractions(min_value=0, max_value=1, max_denominator=1000),
    scale=st.integers(min_value=1, max_value=100_000),
    comparison=st.sampled_from([">=", ">"]),
)
def test_needed_is_the_least_whole_number_that_passes(threshold, scale, comparison):
    rule = Threshold(threshold, comparison)
    needed = rule.needed(scale)
    assert rule.passes(Fraction(needed, scale))
    assert needed == 0 or not rule.passes(Fraction(needed - 1, scale))

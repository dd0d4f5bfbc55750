"""Clusters of labelled villages (pure Python, after the backend's work): contiguity,
thresholds and size classes under the published rules (10 villages and ¥100 million; large
from 30; super-large above 100)."""

import pytest

from taocun.labels.engine import Place, clusters_find
from taocun.labels.rulesets import rule_set_load

YUAN_20M = 2_000_000_000  # fen


@pytest.fixture(scope="module")
def rules():
    return rule_set_load("aliresearch-2019")


def line(count: int, *, sales: int = YUAN_20M, start: int = 0, lat: float = 29.0):
    """Villages along a meridian 0.03° (3.3 km) apart, with their own coordinates, 100 to
    a township."""
    return [
        Place(
            code=f"33078201{(start + n) // 100}{200 + (start + n) % 100:03d}",
            township_code=f"33078201{(start + n) // 100}000",
            county_code="330782000000",
            sales_fen=sales,
            lat=lat + 0.03 * n,
            lon=120.0,
            position_level="village",
        )
        for n in range(count)
    ]


@pytest.mark.parametrize(
    ("count", "size_class"),
    [
        (9, None),
        (10, "cluster"),
        (29, "cluster"),
        (30, "large"),
        (100, "large"),
        (101, "super_large"),
    ],
)
def test_size_classes(rules, count, size_class):
    found = clusters_find(line(count), rules)
    if size_class is None:
        assert found == []
    else:
        assert [(c.villages, c.size_class) for c in found] == [(count, size_class)]


def test_total_sales_must_reach_100_million_yuan(rules):
    assert clusters_find(line(10, sales=999_999_999), rules) == []  # ¥99,999,999.90
    assert len(clusters_find(line(10, sales=1_000_000_000), rules)) == 1


def test_a_gap_wider_than_the_distance_splits_a_line(rules):
    # The first line ends at 29.27°, the second starts at 29.40° (14 km away).
    found = clusters_find(line(10) + line(11, start=10, lat=29.4), rules)
    assert [(c.cluster_id, c.villages) for c in found] == [(1, 11), (2, 10)]


def test_villages_with_coordinates_in_one_township_are_judged_by_distance(rules):
    far = Place("330782010299", "330782010000", "330782000000", YUAN_20M, 35.0, 120.0, "village")
    found = clusters_find([*line(10), far], rules)
    assert [c.villages for c in found] == [10]
    assert far.code not in found[0].village_codes


def test_a_village_without_coordinates_joins_its_township(rules):
    nine = line(9)
    lost = Place("330782010299", "330782010000", "330782000000", YUAN_20M)
    found = clusters_find([*nine, lost], rules)
    assert [c.villages for c in found] == [10]


def test_villages_without_any_position_join_their_county(rules):
    places = [
        Place(f"371721{t:03d}{200 + n:03d}", f"371721{t:03d}000", "371721000000", YUAN_20M)
        for t in (101, 102)
        for n in range(5)
    ]
    found = clusters_find(places, rules)
    assert [(c.villages, c.sales_fen) for c in found] == [(10, 10 * YUAN_20M)]

"""Clusters: connected groups of contiguous labelled villages (union-find, in Python).

Only labelled villages take part (thousands nation-wide, after the backend has done the
heavy work), so this runs in Python once the village table is materialised.

Contiguity — two labelled villages are neighbours when:

1. both have a position and are at most ``max_distance_km`` apart (great-circle). A
   village's position is its own coordinates, else its township's, else its county's;
2. or they are in the same township and at least one of them has no coordinates of its own
   (villages of one township border each other closely enough; two villages *with*
   coordinates are judged by distance alone);
3. or they are in the same county and one of them has no position at all (no coordinates
   for the village, its township or its county).

Neighbourhood is transitive: a cluster is a connected component. A component is a cluster
when its villages and total sales pass the rule set's ``cluster`` thresholds; its size class
is ``super_large``, ``large`` or ``cluster``. Components that fall short are not reported.
Clusters are numbered 1… by size (villages, then sales, descending, then first code).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from taocun.labels.criteria import CLUSTER, LARGE, SUPER_LARGE
from taocun.labels.rulesets import RuleSet

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class Place:
    """A labelled village as clustering sees it."""

    code: str
    township_code: str | None
    county_code: str | None
    sales_fen: int
    lat: float | None = None
    lon: float | None = None
    position_level: str | None = None  # village, township, county, or None


@dataclass(frozen=True)
class Cluster:
    cluster_id: int
    village_codes: tuple[str, ...]
    sales_fen: int
    size_class: str

    @property
    def villages(self) -> int:
        return len(self.village_codes)


class _UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _join_by_distance(places: list[Place], links: _UnionFind, max_km: float) -> None:
    """Union every pair of positioned places within ``max_km``, via a grid of cells at least
    ``max_km`` wide so only neighbouring cells are compared."""
    positioned = [i for i, p in enumerate(places) if p.position_level is not None]
    if not positioned:
        return
    cell_lat = max_km / 111.0
    widest = max(abs(places[i].lat) for i in positioned)
    cell_lon = max_km / (111.0 * max(math.cos(math.radians(min(widest + cell_lat, 89.0))), 1e-3))
    grid: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i in positioned:
        grid[(math.floor(places[i].lat / cell_lat), math.floor(places[i].lon / cell_lon))].append(i)
    for (row, col), members in grid.items():
        for d_row in (-1, 0, 1):
            for d_col in (-1, 0, 1):
                others = grid.get((row + d_row, col + d_col))
                if not others:
                    continue
                for i in members:
                    a = places[i]
                    for j in others:
                        if j <= i or links.find(i) == links.find(j):
                            continue
                        b = places[j]
                        if distance_km(a.lat, a.lon, b.lat, b.lon) <= max_km:
                            links.union(i, j)


def clusters_find(labeled: Iterable[Place], rules: RuleSet) -> list[Cluster]:
    """The clusters among labelled villages, by the rule set's thresholds."""
    places = sorted(labeled, key=lambda p: p.code)
    links = _UnionFind(len(places))
    _join_by_distance(places, links, rules.cluster_max_distance_km)

    by_township: dict[str, list[int]] = defaultdict(list)
    by_county: dict[str, list[int]] = defaultdict(list)
    for i, place in enumerate(places):
        if place.township_code:
            by_township[place.township_code].append(i)
        if place.county_code:
            by_county[place.county_code].append(i)
    for members in by_township.values():
        without_own = [i for i in members if places[i].position_level != "village"]
        if without_own:
            for i in members:
                links.union(without_own[0], i)
    for members in by_county.values():
        unplaced = [i for i in members if places[i].position_level is None]
        if unplaced:
            for i in members:
                links.union(unplaced[0], i)

    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(places)):
        groups[links.find(i)].append(i)
    found = []
    for members in groups.values():
        size = len(members)
        sales = sum(places[i].sales_fen for i in members)
        if not (rules.cluster_villages.passes(size) and rules.cluster_sales.passes(sales)):
            continue
        if rules.cluster_super_large.passes(size):
            size_class = SUPER_LARGE
        elif rules.cluster_large.passes(size):
            size_class = LARGE
        else:
            size_class = CLUSTER
        found.append((tuple(places[i].code for i in members), sales, size_class))
    found.sort(key=lambda item: (-len(item[0]), -item[1], item[0][0]))
    return [
        Cluster(cluster_id=n, village_codes=codes, sales_fen=sales, size_class=size_class)
        for n, (codes, sales, size_class) in enumerate(found, start=1)
    ]

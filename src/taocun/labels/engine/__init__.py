"""The label engine: pure Ibis table functions over the canonical tables of decision 0002.

Functions take table expressions and a :class:`~taocun.labels.rulesets.RuleSet` and return
table expressions; they never hold a connection, so the same code runs on SQLite,
PostgreSQL, DuckDB and PySpark. Where the data lives is the business of
:mod:`taocun.labels.sources`; running and materialising is :mod:`taocun.labels.evaluating`.

The flow (``docs/labels.md``)::

    orders, shops ──shop_activity──▶ one row per shop (the only pass over the orders)
    shops ──shop_groups──▶ one row per village and platform (and household, by rule)
    divisions, groups ─village_criteria─▶ one row per village, each criterion with its gap
    villages ──town_criteria──▶ one row per township
    labelled villages ──clusters_find (Python)──▶ clusters
"""

from taocun.labels.engine.clusters import Cluster, Place, clusters_find
from taocun.labels.engine.shops import shop_activity, shop_groups
from taocun.labels.engine.towns import town_criteria
from taocun.labels.engine.villages import village_criteria, village_platform_sales

__all__ = [
    "Cluster",
    "Place",
    "clusters_find",
    "shop_activity",
    "shop_groups",
    "town_criteria",
    "village_criteria",
    "village_platform_sales",
]

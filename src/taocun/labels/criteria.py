"""The stable keys of the label's vocabulary, shared by the engine, the stored results and
the words (no Ibis here: pages import it cheaply).

* Criteria of a village: ``eligibility``, ``sales``, ``main_platform``, ``active_shops``,
  ``household_share`` (the last two form the ``shops`` group: either one suffices).
* Why a village is not eligible (``VillageResult.eligibility_note``): ``residents_committee``,
  ``committee_kind``, ``urban``, ``ur_code_unknown``; empty when eligible.
* Which rule made a Taobao town (``TownResult.basis``): ``villages``, ``sales_shops``, both
  joined by ``+``, or empty.
* Cluster size classes (``ClusterResult.size_class``): ``cluster``, ``large``,
  ``super_large``.
"""

from typing import Any

ELIGIBILITY = "eligibility"
SALES = "sales"
MAIN_PLATFORM = "main_platform"
ACTIVE_SHOPS = "active_shops"
HOUSEHOLD_SHARE = "household_share"
SHOPS_GROUP = "shops"

NOT_A_VILLAGE_COMMITTEE = "residents_committee"
COMMITTEE_KIND_EXCLUDED = "committee_kind"
URBAN = "urban"
UR_CODE_UNKNOWN = "ur_code_unknown"

BY_VILLAGES = "villages"
BY_SALES_AND_SHOPS = "sales_shops"

CLUSTER = "cluster"
LARGE = "large"
SUPER_LARGE = "super_large"


def criteria_expand(layout: list[dict[str, Any]], values: list[list[Any]]) -> list[dict[str, Any]]:
    """A village's criteria as a list of dicts, from its evaluation's layout
    (``Evaluation.criteria_layout``: per criterion the key, the fields in order and the rule
    set's constants) and the village's own values (``VillageResult.stored_criteria``: per
    criterion the other fields' values, in order)."""
    criteria = []
    for entry, own in zip(layout, values, strict=True):
        constants, remaining = entry["constants"], iter(own)
        criterion = {"key": entry["key"]}
        for name in entry["fields"]:
            criterion[name] = constants[name] if name in constants else next(remaining)
        criteria.append(criterion)
    return criteria

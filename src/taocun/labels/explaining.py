"""Each criterion of a village as data (stored with the evaluation) and in words (in the
user's language): what the value is, the threshold, pass / fail / unknown, and what is
missing — "needs ¥1,204,300.00 more sales and 14 more active shops".

The criteria list is plain JSON, and a stored evaluation explains itself without its rule
set: the evaluation keeps what all its villages share (``Evaluation.criteria_layout``: the
keys, thresholds, comparisons and units) and each village its own values
(``VillageResult.stored_criteria``); ``VillageResult.criteria`` is the whole list again::

    {"key": "sales", "passed": false, "value": 879570000, "threshold": 1000000000,
     "comparison": ">=", "gap": 120430000, "unit": "fen"}

Keys: ``eligibility``, ``sales``, ``main_platform`` (rule sets with a main platform),
``active_shops`` and ``household_share`` (either one suffices: they form the ``shops``
group). ``passed`` is ``null`` when the criterion cannot be decided.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from django.utils.translation import gettext as _

from taocun.core.errors import NotFound, ValidationError
from taocun.core.money import Money
from taocun.labels.criteria import (
    ACTIVE_SHOPS,
    COMMITTEE_KIND_EXCLUDED,
    ELIGIBILITY,
    HOUSEHOLD_SHARE,
    MAIN_PLATFORM,
    NOT_A_VILLAGE_COMMITTEE,
    SALES,
    SHOPS_GROUP,
    UR_CODE_UNKNOWN,
    URBAN,
)
from taocun.labels.rulesets import RuleSet
from taocun.sales.platforms import platform_name, platform_names

MICRO = 1_000_000


def share_text(numerator: int, denominator: int) -> str:
    """``numerator / denominator`` with at most 6 decimals, rounded half up, without
    trailing zeros: ``share_text(1, 30) == "0.033333"``, ``share_text(1, 10) == "0.1"``.
    Integer arithmetic, so the stored text never depends on floats."""
    micro = (2 * numerator * MICRO + denominator) // (2 * denominator)
    whole, fraction = divmod(micro, MICRO)
    decimals = f"{fraction:06d}".rstrip("0")
    return f"{whole}.{decimals}" if decimals else str(whole)


def _fraction_text(value: Fraction | None) -> str | None:
    return None if value is None else share_text(value.numerator, value.denominator)


def _row_share(row: dict[str, Any], numerator: int) -> str | None:
    households = row["households"]
    return share_text(numerator, households) if households else None


def village_criteria_list(row: dict[str, Any], rules: RuleSet) -> list[dict[str, Any]]:
    """The criteria of one village row of the engine (``village_criteria``) as JSON data."""
    criteria: list[dict[str, Any]] = [
        {
            "key": "eligibility",
            "passed": bool(row["eligible"]),
            "value": row["committee_kind"] or "",
            "reason": row["eligibility_reason"] or "",
            "ur_code": row.get("ur_code") or "",
            "rural_only": rules.rural_only,
        },
        {
            "key": "sales",
            "passed": bool(row["sales_passed"]),
            "value": int(row["sales_fen"]),
            "threshold": int(rules.village_sales.threshold),
            "comparison": rules.village_sales.comparison,
            "gap": int(row["sales_gap_fen"]),
            "unit": "fen",
            "counted_platforms": list(rules.counted_platforms or ["all"]),
        },
    ]
    if rules.main_platforms:
        criteria.append(
            {
                "key": "main_platform",
                "passed": bool(row["main_platform_passed"]),
                "value": row["main_platform"] or "",
                "threshold": list(rules.main_platforms),
                "min_share": _fraction_text(rules.main_min_share),
                "or_largest": rules.main_or_largest,
                "main_sales": int(row["main_sales_fen"]),
                "all_sales": int(row["all_sales_fen"]),
                "unit": "platform",
            }
        )
    if rules.village_active_shops is not None:
        criteria.append(
            {
                "key": "active_shops",
                "passed": bool(row["active_shops_passed"]),
                "value": int(row["active_shops"]),
                "threshold": int(rules.village_active_shops.threshold),
                "comparison": rules.village_active_shops.comparison,
                "gap": int(row["active_shops_gap"]),
                "unit": "shops",
                "group": SHOPS_GROUP,
            }
        )
    if rules.village_household_share is not None:
        by_households = rules.household_share_basis == "households_with_shop"
        passed = row["household_share_passed"]
        numerator = int(row["households_with_shop"] if by_households else row["active_shops"])
        criteria.append(
            {
                "key": "household_share",
                "passed": None if passed is None else bool(passed),
                "value": _row_share(row, numerator),
                "threshold": _fraction_text(Fraction(rules.village_household_share.threshold)),
                "comparison": rules.village_household_share.comparison,
                "gap": None
                if row["household_share_gap"] is None
                else int(row["household_share_gap"]),
                "unit": "households" if by_households else "shops",
                "basis": rules.household_share_basis,
                "households": row["households"],
                "numerator": numerator,
                "shops_without_household": (
                    int(row["active_shops_no_household"]) if by_households else None
                ),
                "group": SHOPS_GROUP,
            }
        )
    return criteria


# One criterion as built for many villages at once: its key, then its fields in order, each
# a constant of the rule set (any JSON value) or a column of JSON texts, one per village.
CriterionSpec = tuple[str, list[tuple[str, Any]]]


def _criteria_spec(villages: pa.Table, rules: RuleSet) -> list[CriterionSpec]:
    """The fields of :func:`village_criteria_list`, for every village at once (Arrow
    compute, no per-row Python): rule-set constants as Python values, per-village values as
    columns of JSON texts."""
    column = villages.column

    def flag(values) -> pa.ChunkedArray:
        return pc.fill_null(pc.if_else(values, "true", "false"), "null")

    def number(values) -> pa.ChunkedArray:
        return pc.fill_null(pc.cast(values, pa.string()), "null")

    def text(values) -> pa.ChunkedArray:
        values = pc.fill_null(values, "")
        if pc.any(pc.match_substring_regex(values, r"[\x00-\x1f]")).as_py():
            return pa.chunked_array([[_json(v) for v in values.to_pylist()]], pa.string())
        escaped = pc.replace_substring(pc.replace_substring(values, "\\", "\\\\"), '"', '\\"')
        return pc.binary_join_element_wise('"', escaped, '"', "")

    spec: list[CriterionSpec] = [
        (
            ELIGIBILITY,
            [
                ("passed", flag(column("eligible"))),
                ("value", text(column("committee_kind"))),
                ("reason", text(column("eligibility_reason"))),
                ("ur_code", text(column("ur_code"))),
                ("rural_only", rules.rural_only),
            ],
        ),
        (
            SALES,
            [
                ("passed", flag(column("sales_passed"))),
                ("value", number(column("sales_fen"))),
                ("threshold", int(rules.village_sales.threshold)),
                ("comparison", rules.village_sales.comparison),
                ("gap", number(column("sales_gap_fen"))),
                ("unit", "fen"),
                ("counted_platforms", list(rules.counted_platforms or ["all"])),
            ],
        ),
    ]
    if rules.main_platforms:
        spec.append(
            (
                MAIN_PLATFORM,
                [
                    ("passed", flag(pc.fill_null(column("main_platform_passed"), False))),
                    ("value", text(column("main_platform"))),
                    ("threshold", list(rules.main_platforms)),
                    ("min_share", _fraction_text(rules.main_min_share)),
                    ("or_largest", rules.main_or_largest),
                    ("main_sales", number(column("main_sales_fen"))),
                    ("all_sales", number(column("all_sales_fen"))),
                    ("unit", "platform"),
                ],
            )
        )
    if rules.village_active_shops is not None:
        spec.append(
            (
                ACTIVE_SHOPS,
                [
                    ("passed", flag(column("active_shops_passed"))),
                    ("value", number(column("active_shops"))),
                    ("threshold", int(rules.village_active_shops.threshold)),
                    ("comparison", rules.village_active_shops.comparison),
                    ("gap", number(column("active_shops_gap"))),
                    ("unit", "shops"),
                    ("group", SHOPS_GROUP),
                ],
            )
        )
    if rules.village_household_share is not None:
        by_households = rules.household_share_basis == "households_with_shop"
        numerator = column("households_with_shop" if by_households else "active_shops")
        households = column("households")
        known = pc.fill_null(pc.greater(households, 0), False)
        # share_text(numerator, households) in Arrow integer arithmetic
        safe = pc.if_else(known, households, 1)
        micro = pc.divide(
            pc.add(pc.multiply(pc.multiply(numerator, 2), MICRO), safe), pc.multiply(safe, 2)
        )
        whole = pc.cast(pc.divide(micro, MICRO), pa.string())
        fraction = pc.utf8_rtrim(
            pc.utf8_lpad(
                pc.cast(
                    pc.subtract(micro, pc.multiply(pc.divide(micro, MICRO), MICRO)), pa.string()
                ),
                6,
                "0",
            ),
            "0",
        )
        share = pc.if_else(
            pc.equal(fraction, ""),
            whole,
            pc.binary_join_element_wise(whole, fraction, "."),
        )
        share = pc.if_else(known, pc.binary_join_element_wise('"', share, '"', ""), "null")
        spec.append(
            (
                HOUSEHOLD_SHARE,
                [
                    ("passed", flag(column("household_share_passed"))),
                    ("value", share),
                    (
                        "threshold",
                        _fraction_text(Fraction(rules.village_household_share.threshold)),
                    ),
                    ("comparison", rules.village_household_share.comparison),
                    ("gap", number(column("household_share_gap"))),
                    ("unit", "households" if by_households else "shops"),
                    ("basis", rules.household_share_basis),
                    ("households", number(households)),
                    ("numerator", number(numerator)),
                    (
                        "shops_without_household",
                        number(column("active_shops_no_household")) if by_households else None,
                    ),
                    ("group", SHOPS_GROUP),
                ],
            )
        )
    return spec


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _is_column(value: Any) -> bool:
    return isinstance(value, pa.ChunkedArray | pa.Array)


def criteria_layout(villages: pa.Table, rules: RuleSet) -> list[dict[str, Any]]:
    """What the villages of one evaluation share in their criteria, stored once with the
    evaluation (``Evaluation.criteria_layout``): for each criterion its key, the names of its
    fields in order, and the rule set's constants. :func:`criteria_values_column` keeps the
    rest, the per-village values; :func:`taocun.labels.criteria.criteria_expand` puts the
    two together again.
    """
    return [
        {
            "key": key,
            "fields": [name for name, _value in fields],
            "constants": {name: value for name, value in fields if not _is_column(value)},
        }
        for key, fields in _criteria_spec(villages.slice(0, 0), rules)
    ]


def criteria_values_column(villages: pa.Table, rules: RuleSet) -> pa.ChunkedArray:
    """The per-village part of every village's criteria as compact JSON, one array per
    criterion with the values that are not constants of :func:`criteria_layout`
    (``[[true,"村委会","",""],[false,0,1000000000],…]``): about a seventh of the whole list,
    which is what a stored evaluation writes for each of its 666,655 villages.
    ``criteria_expand(layout, json.loads(text))`` equals :func:`village_criteria_list` of the
    row."""
    arrays = []
    for _key, fields in _criteria_spec(villages, rules):
        values = [value for _name, value in fields if _is_column(value)]
        arrays.append(pc.binary_join_element_wise("[", *_interleave(values, ","), "]", ""))
    return pc.binary_join_element_wise("[", *_interleave(arrays, ","), "]", "")


def _interleave(items: list, separator: str) -> list:
    joined: list = []
    for index, item in enumerate(items):
        if index:
            joined.append(separator)
        joined.append(item)
    return joined


def failed_criteria(criteria: list[dict[str, Any]]) -> list[str]:
    """The criteria that keep a village from the label: failed ones as their key, undecided
    ones as ``key:unknown``. Alternatives of a passed group (shops or share) are left out."""
    group_passed = any(c.get("group") == SHOPS_GROUP and c["passed"] for c in criteria)
    failed = []
    for criterion in criteria:
        if criterion.get("group") == SHOPS_GROUP and group_passed:
            continue
        if criterion["passed"] is None:
            failed.append(f"{criterion['key']}:unknown")
        elif not criterion["passed"]:
            failed.append(criterion["key"])
    return failed


# --- words ------------------------------------------------------------------------------


def criterion_name(key: str) -> str:
    return {
        "eligibility": _("eligibility"),
        "sales": _("sales"),
        "main_platform": _("main platform"),
        "active_shops": _("active shops"),
        "household_share": _("household share"),
    }.get(key, key)


def status_word(passed: bool | None) -> str:
    if passed is None:
        return _("unknown")
    return _("pass") if passed else _("fail")


def eligibility_text(reason: str) -> str:
    return {
        "": _("village committee"),
        NOT_A_VILLAGE_COMMITTEE: _("a residents' committee, not a village committee"),
        COMMITTEE_KIND_EXCLUDED: _("this kind of committee is not counted by the rule set"),
        URBAN: _("urban by its NBS urban/rural code (rural villages only)"),
        UR_CODE_UNKNOWN: _("its NBS urban/rural code is not recorded (rural villages only)"),
    }.get(reason, reason)


def _yuan(fen: int) -> str:
    return Money(int(fen)).format()


def _percent(share: str | None) -> str:
    if share is None:
        return "–"
    value = (Decimal(share) * 100).quantize(Decimal("0.01")).normalize()
    return f"{value:f} %"


def criterion_text(criterion: dict[str, Any]) -> str:
    """One criterion in words: its value against its threshold, and what is missing."""
    key = criterion["key"]
    symbol = "≥" if criterion.get("comparison") == ">=" else ">"
    if key == "eligibility":
        return eligibility_text(criterion.get("reason", ""))
    if key == "sales":
        text = _("%(value)s %(symbol)s %(threshold)s") % {
            "value": _yuan(criterion["value"]),
            "symbol": symbol,
            "threshold": _yuan(criterion["threshold"]),
        }
        if criterion["gap"]:
            text += " — " + _("needs %(amount)s more") % {"amount": _yuan(criterion["gap"])}
        return text
    if key == "main_platform":
        main = platform_names(criterion["threshold"])
        if not criterion["all_sales"]:
            return _("no sales, so no main platform (must be %(main)s)") % {"main": main}
        return _("largest platform: %(value)s; must be %(main)s") % {
            "value": platform_name(criterion["value"]) if criterion["value"] else "–",
            "main": main,
        }
    if key == "active_shops":
        text = _("%(value)s %(symbol)s %(threshold)s") % {
            "value": criterion["value"],
            "symbol": symbol,
            "threshold": criterion["threshold"],
        }
        if criterion["gap"]:
            text += " — " + _("needs %(count)s more") % {"count": criterion["gap"]}
        return text
    if key == "household_share":
        return _household_share_text(criterion, symbol)
    return str(criterion.get("value"))


def _household_share_text(criterion: dict[str, Any], symbol: str) -> str:
    threshold = _percent(criterion["threshold"])
    if not criterion.get("households"):
        return _("unknown: the village's households are not recorded (needs %(share)s)") % {
            "share": threshold
        }
    by_households = criterion["unit"] == "households"
    if by_households:
        text = _(
            "%(count)s of %(households)s households have an active shop: "
            "%(value)s %(symbol)s %(threshold)s"
        )
    else:
        text = _(
            "%(count)s active shops for %(households)s households: "
            "%(value)s %(symbol)s %(threshold)s"
        )
    text = text % {
        "count": criterion["numerator"],
        "households": criterion["households"],
        "value": _percent(criterion["value"]),
        "symbol": symbol,
        "threshold": threshold,
    }
    if criterion["passed"] is None:
        text += " — " + _("unknown: %(count)s active shops have no household recorded") % {
            "count": criterion.get("shops_without_household") or 0
        }
    elif criterion["gap"]:
        if by_households:
            more = _("needs %(count)s more households with an active shop")
        else:
            more = _("needs %(count)s more active shops")
        text += " — " + more % {"count": criterion["gap"]}
    return text


def gap_sentence(criteria: list[dict[str, Any]]) -> str:
    """What the village lacks, in one sentence; empty when it is labelled."""
    by_key = {c["key"]: c for c in criteria}
    eligibility = by_key.get("eligibility")
    if eligibility and not eligibility["passed"]:
        return _("not eligible: %(reason)s") % {"reason": eligibility_text(eligibility["reason"])}
    needs = []
    sales = by_key.get("sales")
    if sales and not sales["passed"]:
        needs.append(_("%(amount)s more sales") % {"amount": _yuan(sales["gap"])})
    main = by_key.get("main_platform")
    if main and not main["passed"]:
        main_names = platform_names(main["threshold"])
        needs.append(_("%(main)s as its main platform") % {"main": main_names})
    group = [c for c in criteria if c.get("group") == SHOPS_GROUP]
    if group and not any(c["passed"] for c in group):
        options = []
        for criterion in group:
            if criterion["key"] == "active_shops":
                options.append(_("%(count)s more active shops") % {"count": criterion["gap"]})
            elif criterion["gap"] is None:
                continue
            elif criterion["passed"] is None:
                options.append(_("households recorded for its shops (share unknown)"))
            elif criterion["unit"] == "households":
                options.append(
                    _("%(count)s more households with an active shop") % {"count": criterion["gap"]}
                )
            else:
                options.append(
                    _("%(count)s more active shops to reach %(share)s of the households")
                    % {"count": criterion["gap"], "share": _percent(criterion["threshold"])}
                )
        if not options:
            options.append(_("the households to be recorded (share unknown)"))
        needs.append(_(", or ").join(options))
    if not needs:
        return ""
    return _("needs %(what)s") % {"what": _(" and ").join(needs)}


# --- one village, from a stored evaluation or computed on demand ----------------------


@dataclass
class VillageExplanation:
    """A village's criteria under one rule set and cut-off, with the words to show."""

    code: str
    name: str
    labeled: bool
    rule_set: str
    rule_set_version: str
    cutoff: dt.date
    window_start: dt.date | None
    criteria: list[dict[str, Any]]
    evaluation_id: int | None = None

    @property
    def sentence(self) -> str:
        return gap_sentence(self.criteria)

    def lines(self) -> list[str]:
        """The explanation as text lines, in the active language."""
        verdict = _("labelled") if self.labeled else _("not labelled")
        source = (
            _("evaluation %(id)s") % {"id": self.evaluation_id}
            if self.evaluation_id
            else _("computed now")
        )
        lines = [
            _("%(name)s (%(code)s): %(verdict)s")
            % {
                "name": self.name,
                "code": self.code,
                "verdict": verdict,
            },
            _("rule set %(rules)s %(version)s, cut-off %(cutoff)s (%(source)s)")
            % {
                "rules": self.rule_set,
                "version": self.rule_set_version,
                "cutoff": self.cutoff.isoformat(),
                "source": source,
            },
        ]
        for criterion in self.criteria:
            lines.append(
                f"  {criterion_name(criterion['key'])}: {status_word(criterion['passed'])} — "
                f"{criterion_text(criterion)}"
            )
        if self.sentence:
            lines.append(self.sentence)
        return lines


def village_explain(
    *,
    code: str,
    evaluation_id: int | None = None,
    rules: RuleSet | None = None,
    cutoff: dt.date | None = None,
    source: str = "db",
) -> VillageExplanation:
    """Explain a village: from a stored evaluation (``evaluation_id``; by default the latest
    done evaluation that has the village), or computed now under ``rules`` and ``cutoff``
    (only that village's shops and orders are read)."""
    from taocun.labels.models import VillageResult
    from taocun.labels.selectors import village_history

    code = (code or "").strip()
    if not (len(code) == 12 and code.isdigit()):
        raise ValidationError(
            _("%(value)s is not a 12-digit village code") % {"value": code}, field="code"
        )
    if rules is not None:
        return _explain_now(code=code, rules=rules, cutoff=cutoff, source=source)
    if evaluation_id is not None:
        result = (
            VillageResult.objects.select_related("evaluation")
            .filter(evaluation_id=evaluation_id, village_id=code)
            .first()
        )
        if result is None:
            raise NotFound(
                _("Evaluation %(id)s has no result for village %(code)s")
                % {"id": evaluation_id, "code": code},
                field="code",
            )
    else:
        result = village_history(code=code).first()
        if result is None:
            raise NotFound(
                _("No stored evaluation has village %(code)s; give a rule set to compute it")
                % {"code": code},
                field="code",
            )
    evaluation = result.evaluation
    return VillageExplanation(
        code=code,
        name=result.name,
        labeled=result.labeled,
        rule_set=evaluation.rule_set,
        rule_set_version=evaluation.rule_set_version,
        cutoff=evaluation.cutoff,
        window_start=evaluation.window_start,
        criteria=list(result.criteria),
        evaluation_id=evaluation.pk,
    )


def _explain_now(
    *, code: str, rules: RuleSet, cutoff: dt.date | None, source: str
) -> VillageExplanation:
    from taocun.labels.evaluating import evaluation_compute
    from taocun.labels.sources import source_opened

    with source_opened(source) as opened:
        outcome = evaluation_compute(
            source=opened, rules=rules, cutoff=cutoff, village_codes=[code]
        )
    rows = [row for row in outcome.village_rows() if row["code"] == code]
    if not rows:
        raise NotFound(
            _("No village with code %(code)s in the source") % {"code": code}, field="code"
        )
    row = rows[0]
    return VillageExplanation(
        code=code,
        name=row["name"],
        labeled=bool(row["labeled"]),
        rule_set=rules.name,
        rule_set_version=rules.version,
        cutoff=outcome.window.cutoff,
        window_start=outcome.window.start,
        criteria=village_criteria_list(row, rules),
    )

"""Measure the reconciliation of the published Taobao-village lists with the national table.

For each of the 2014, 2015 and 2016 lists (``../shared/data/taobao-villages-YYYY.csv``)
against ``../shared/data/divisions-cn-2016.csv.gz``: rows matched, ambiguous and unmatched,
by method and by reason; time to index and to match; peak memory (RSS) of the process; two
baselines (plain name equality); and how many unresolved rows have no village of their name
anywhere in their county, nor a near form of it in their township (no name rule could
match them without guessing).

Then the checks behind "no wrong match": every match of the 2016 list is checked
automatically (the five levels of its path, the province, and the village's normalised name
against the list's, or through the rule its method names: interchangeable characters,
numerals, a part of the township's name, a near form, a typo), and a random sample
(``--sample``, seed ``--seed``) is printed side by side, list path against matched path, for
review by eye. ``--sample-file`` also writes the sample as CSV. ``--review`` prints, for every
year, each match that needed more than equal names or keys in the list's own township (a
widening, a near form, a variant...), for review by eye.

    .venv/bin/python benchmarks/reconcile_2016.py
    .venv/bin/python benchmarks/reconcile_2016.py --years 2016 --sample 200 --review \\
        --sample-file /tmp/reconcile-sample.csv --leave-one-out 200000

``--leave-one-out N`` measures how often each rule weaker than equal keys would take a wrong
village: for each list row matched by name or key in its own township, and for N villages of
the table, the right village is removed and the rule is applied to its siblings.

Results are written up in docs/reconcile.md. Nothing here asserts a time: machines differ.
"""

import argparse
import csv
import os
import random
import resource
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taocun.settings")

import django  # noqa: E402

django.setup()

from taocun.labels.reconcile import names  # noqa: E402
from taocun.labels.reconcile.index import DivisionIndex, index_from_file  # noqa: E402
from taocun.labels.reconcile.listfile import read_list  # noqa: E402
from taocun.labels.reconcile.matching import (  # noqa: E402
    MATCHED,
    NEAR_FORMS,
    RowMatch,
    is_typo,
    reconcile_rows,
)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def plain_equality(index: DivisionIndex, rows) -> tuple[int, int]:
    """Rows whose five names equal the table's, level by level: strictly, and ignoring only
    the committee suffix of the table's village (村委会 / 村民委员会 after 村)."""
    by_parent: dict[str, dict[str, list]] = {}
    for node in index.nodes.values():
        if node.parent is not None:
            by_parent.setdefault(node.parent.code, {}).setdefault(node.name, []).append(node)
    provinces = {node.name: node for node in index.provinces}
    strict = loose = 0
    for row in rows:
        node = provinces.get(row.province)
        for name in (row.prefecture, row.county, row.township):
            node = (by_parent.get(node.code, {}).get(name) or [None])[0] if node else None
        if node is None:
            continue
        villages = by_parent.get(node.code, {})
        strict += row.village in villages
        loose += any(
            candidate in villages
            for candidate in (row.village, row.village + "委会", row.village + "民委员会")
        )
    return strict, loose


def no_namesake_in_county(index: DivisionIndex, match: RowMatch) -> bool:
    """True when the list's county (found by key in its province) has no village with the
    list's village key, even up to interchangeable characters and numerals, and the list's
    township there has no village whose name is a near form of it or has it after a part of
    the township's name."""
    key = names.village_key(match.row.village)
    county_key = names.county_key(match.row.county)
    province_key = names.province_key(match.row.province)
    township_key = names.township_key(match.row.township) if match.row.township else ""
    counties = [
        node
        for node in index.nodes.values()
        if node.level == "county"
        and county_key in node.keys
        and province_key in node.ancestor("province").keys
    ]
    for county in counties:
        for village in county.descendants("village"):
            if (
                key in village.keys
                or names.interchangeable_form(key) in village.variant_keys
                or names.numeral_form(key) in village.numeral_keys
            ):
                return False
            if township_key in village.parent.keys and (
                key in village.township_part_keys()
                or any(near(key, other) for _, near in NEAR_FORMS for other in village.keys)
            ):
                return False
    return True


def village_rule(match: RowMatch) -> str:
    """The rule that matched the village level: ``key``, ``variant``, ``contraction``..."""
    steps = dict(step.split(":", 1) for step in match.method.split() if ":" in step)
    return steps.get("village", "name").split("+")[0]


def names_agree(index: DivisionIndex, match: RowMatch) -> bool:
    village = index.get(match.code)
    key = names.village_key(match.row.village)
    if key in village.keys:
        return True
    rule = village_rule(match)
    if rule == "variant":
        return names.interchangeable_form(key) in village.variant_keys
    if rule == "numeral":
        return names.numeral_form(key) in village.numeral_keys
    if rule == "township-part":
        return key in village.township_part_keys()
    if rule == "typo":
        return any(is_typo(key, other) for other in village.keys)
    near = dict(NEAR_FORMS).get(rule)
    return near is not None and any(near(key, other) for other in village.keys)


def needs_review(match: RowMatch) -> bool:
    """A match that took more than equal names or keys in the list's own township."""
    return match.status == MATCHED and (
        village_rule(match) not in {"name", "key"}
        or any(width in match.method for width in ("in-county", "other-county", "evidence"))
    )


def check_all(index: DivisionIndex, matches: list[RowMatch]) -> list[str]:
    problems = []
    for match in matches:
        if match.status != MATCHED:
            continue
        path = index.get(match.code).path()
        if [node.level for node in path] != [
            "province",
            "prefecture",
            "county",
            "township",
            "village",
        ]:
            problems.append(f"line {match.row.line}: path {path}")
        if names.province_key(match.row.province) not in path[0].keys:
            problems.append(f"line {match.row.line}: province {path[0].name}")
        if not names_agree(index, match):
            problems.append(f"line {match.row.line}: names {match.row.village} / {path[-1].name}")
    return problems


def run_year(year: int, args) -> None:
    list_path = DATA / f"taobao-villages-{year}.csv"
    rows = read_list(list_path)
    started = time.perf_counter()
    index = index_from_file(path=args.divisions, province_names={row.province for row in rows})
    indexed = time.perf_counter()
    matches = reconcile_rows(index, rows)
    done = time.perf_counter()
    counts = Counter(match.status for match in matches)
    matched = counts[MATCHED]
    print(f"\n== {year}: {list_path.name}, {len(rows)} rows")
    print(
        f"index {len(index):,} divisions of {len({r.province for r in rows})} province "
        f"names in {indexed - started:.1f} s; matching {done - indexed:.1f} s; "
        f"peak RSS so far {peak_rss_mb():.0f} MB"
    )
    print(
        f"matched {matched} ({100 * matched / len(rows):.1f} %), ambiguous "
        f"{counts['ambiguous']}, unmatched {counts['unmatched']}"
    )
    strict, loose = plain_equality(index, rows)
    print(
        f"baselines: all five names equal {strict} ({100 * strict / len(rows):.1f} %); "
        f"equal but for the village committee suffix {loose} ({100 * loose / len(rows):.1f} %)"
    )
    print("matched by method:")
    for method, count in Counter(m.method for m in matches if m.status == MATCHED).most_common():
        print(f"  {count:5d}  {method}")
    print("not matched, by reason:")
    unresolved = [m for m in matches if m.status != MATCHED]
    for reason, count in Counter(m.reason for m in unresolved).most_common():
        print(f"  {count:5d}  {reason}")
    absent = sum(no_namesake_in_county(index, m) for m in unresolved)
    print(
        f"unresolved rows with no village of that name (even up to interchangeable "
        f"characters and numerals) anywhere in their county, nor a near form in their "
        f"township: {absent} of {len(unresolved)}; at most "
        f"{100 * (len(rows) - absent) / len(rows):.1f} % could be matched by name"
    )
    problems = check_all(index, matches)
    print(f"automatic checks on all {matched} matches: {len(problems)} problem(s)")
    for problem in problems:
        print("  " + problem)
    if args.review:
        reviewed = [match for match in matches if needs_review(match)]
        print(f"\nmatches to review by eye ({len(reviewed)}): list | table | method")
        for match in reviewed:
            print_match(match)
    if year == args.sample_year and args.sample:
        sample(index, matches, args)
    if year == args.sample_year and args.leave_one_out:
        leave_one_out(index, matches, args)


def print_match(match: RowMatch) -> list:
    row = match.row
    listed = " ".join((row.province, row.prefecture, row.county, row.township, row.village))
    table = " ".join(match.path)
    print(f"  {row.line:5d}  {listed} | {table} ({match.code}) | {match.method}")
    return [row.line, listed, table, match.code, match.method]


def _weak_rules() -> dict:
    """The rules weaker than equal keys, as ``(list key, list kind, candidate) -> agrees``."""

    def variant(key, kind, node):
        return key not in node.keys and names.interchangeable_form(key) in node.variant_keys

    def numeral(key, kind, node):
        return (
            key not in node.keys
            and names.interchangeable_form(key) not in node.variant_keys
            and names.numeral_form(key) in node.numeral_keys
        )

    def township_part(key, kind, node):
        return key in node.township_part_keys()

    def near_form(agrees):
        return lambda key, kind, node: (
            (not kind or node.kind == kind) and any(agrees(key, other) for other in node.keys)
        )

    rules = {"variant": variant, "numeral": numeral, "township-part": township_part}
    rules.update({rule: near_form(agrees) for rule, agrees in NEAR_FORMS})
    return rules


def leave_one_out(index: DivisionIndex, matches: list[RowMatch], args) -> None:
    """How often each weak rule would take a *wrong* village: remove the right village from
    its township and count the rows for which the rule then finds exactly one other. First
    for the list's villages matched by name or key in their own township, then for a random
    sample of the table's villages (their own name against their siblings)."""
    rules = _weak_rules()
    trials = {
        "list": [
            (
                names.village_key(match.row.village),
                names.village_kind(match.row.village),
                index.get(match.code),
            )
            for match in matches
            if match.status == MATCHED and not needs_review(match)
        ],
        "table": [
            (names.village_key(node.name), names.village_kind(node.name), node)
            for node in random.Random(args.seed).sample(
                [node for node in index.nodes.values() if node.level == "village"],
                args.leave_one_out,
            )
        ],
    }
    print("\nleave-one-out: the right village removed, rows a rule would match elsewhere")
    for source, cases in trials.items():
        wrong = Counter()
        several = Counter()
        examples: dict[str, list[str]] = {}
        for key, kind, village in cases:
            others = [node for node in village.parent.children if node is not village]
            for rule, agrees in rules.items():
                found = [node for node in others if agrees(key, kind, node)]
                if len(found) == 1:
                    wrong[rule] += 1
                    examples.setdefault(rule, []).append(f"{village.name}→{found[0].name}")
                elif found:
                    several[rule] += 1
        for rule in rules:
            print(
                f"  {source:5s} {rule:13s} {len(cases):7,d} trials: {wrong[rule]:4d} single "
                f"wrong candidate ({100 * wrong[rule] / len(cases):.3f} %), {several[rule]} "
                f"several; e.g. {', '.join(examples.get(rule, [])[:4])}"
            )


def sample(index: DivisionIndex, matches: list[RowMatch], args) -> None:
    matched = [m for m in matches if m.status == MATCHED]
    chosen = sorted(
        random.Random(args.seed).sample(matched, min(args.sample, len(matched))),
        key=lambda m: m.row.line,
    )
    print(f"\nsample of {len(chosen)} matches (seed {args.seed}): list | table | method")
    records = [print_match(match) for match in chosen]
    if args.sample_file:
        with open(args.sample_file, "w", encoding="utf-8", newline="") as stream:
            writer = csv.writer(stream, lineterminator="\r\n")
            writer.writerow(["line", "list", "table", "code", "method"])
            writer.writerows(records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--years", type=int, nargs="+", default=[2014, 2015, 2016])
    parser.add_argument("--divisions", type=Path, default=DATA / "divisions-cn-2016.csv.gz")
    parser.add_argument("--sample", type=int, default=200, help="matches to print for review")
    parser.add_argument(
        "--review", action="store_true", help="print every match that needed a rule"
    )
    parser.add_argument("--sample-year", type=int, default=2016)
    parser.add_argument("--seed", type=int, default=2016)
    parser.add_argument("--sample-file", type=Path)
    parser.add_argument(
        "--leave-one-out",
        type=int,
        default=0,
        metavar="N",
        help="measure the weak rules' wrong matches on the list and N villages of the table",
    )
    args = parser.parse_args()
    if not args.divisions.is_file():
        sys.exit(f"no divisions file at {args.divisions}")
    for year in args.years:
        run_year(year, args)


if __name__ == "__main__":
    main()

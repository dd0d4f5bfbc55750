"""Matching the rows of a published list to villages of the division tree.

The rule is **never guess**: a wrong code is worse than no code, because it silently moves a
label to another village. So the matcher walks the tree from the province down and, at each
level, accepts a candidate only when it is the *only* one that agrees, by the first of these
rules that finds any:

1. the same name after cleaning (full-width forms, spaces, marks such as the 2015 list's ``*``);
2. the same *key*, the name without its administrative suffix (see ``names``); when several
   villages share the key, the one of the kind the list names (村 → village committee, 社区 →
   residents' committee) if exactly one is;
3. the same key once characters known to be interchanged in place names are folded
   (横板/横坂, 沙窖/沙滘: the ``variant`` rule), then once numbers are written one way (伍佰 =
   五百, 4 = 四: the ``numeral`` rule);
4. for a village, in the list's own township only: the key without a leading part of the
   township's name (大庄刘庄 in 张大庄镇 = 刘庄: ``township-part``);
5. last, for a village in the list's own township, once it is not found under its name
   elsewhere in the county either: *near forms* of the name, each a unique candidate of the
   kind the list names: one inner character left out (塘步东 → 塘东: ``contraction``), a
   compass direction written after the name or before it (白旄西 → 西白旄: ``direction``), 新
   added or dropped before 村 (路西村 → 路西新村: ``new-village``); then, for names of at least
   three characters, one substituted character (a typo, also the last resort for a county
   within its prefecture and a township within its county). None of them lets a character
   that tells neighbouring places apart (东/西, 大/小, 一/二, and the common surnames: 青岩刘
   and 青岩傅 are two villages) or a generic word of village names (王家庄 and 王庄) make the
   difference.

When a level does not agree, the search widens only in ways that stay unique:

* a prefecture that is not found (北京市 for the table's 市辖区) is skipped and the county
  sought in the whole province; a county not found under its prefecture is sought in the
  province;
* a village not in its township (or whose township is not found) is sought in the whole
  county, and taken only if its name is unique in the whole prefecture: a common name such as
  新村 found once in the county is as likely another village as the list's;
* a county or township not found at all is bridged by a township-and-village pair that is
  unique in the prefecture (development zones, townships moved to a new district).

Then the whole list is looked at once (:func:`reconcile_rows`): a common name in another
township of the county is taken when other rows of the same list township were matched into
that very township (the township was renamed or split: ``township-evidence``); and when two
rows claim one village, the row that matches it better keeps it and the other becomes
ambiguous (the 2016 list has both 新扬村 and 新杨村 in 狮岭镇; the table has only 新扬). Every
rule used is recorded in the match's ``method``, so a reviewer can check exactly the matches
that needed one.
"""

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from django.utils.translation import gettext as _

from taocun.labels.reconcile.index import DivisionIndex, DivisionNode
from taocun.labels.reconcile.names import (
    MIN_KEY_LENGTH,
    clean,
    county_key,
    interchangeable_form,
    numeral_form,
    prefecture_key,
    province_key,
    township_key,
    township_keys,
    village_key,
    village_kind,
)

MATCHED = "matched"
AMBIGUOUS = "ambiguous"
UNMATCHED = "unmatched"
STATUSES = (MATCHED, AMBIGUOUS, UNMATCHED)

# Stable reason codes (the report's ``reason`` column); messages are translated separately.
MISSING_NAMES = "missing_names"
NO_PROVINCE = "no_province"
NO_COUNTY = "no_county"
NO_TOWNSHIP = "no_township"
NO_VILLAGE = "no_village"
SEVERAL_PROVINCES = "several_provinces"
SEVERAL_COUNTIES = "several_counties"
SEVERAL_TOWNSHIPS = "several_townships"
SEVERAL_VILLAGES = "several_villages"
SPLIT_VILLAGE = "split_village"
COMMON_NAME = "common_name_elsewhere"
CLAIMED = "claimed_by_another_row"
REASONS = (
    MISSING_NAMES,
    NO_PROVINCE,
    NO_COUNTY,
    NO_TOWNSHIP,
    NO_VILLAGE,
    SEVERAL_PROVINCES,
    SEVERAL_COUNTIES,
    SEVERAL_TOWNSHIPS,
    SEVERAL_VILLAGES,
    SPLIT_VILLAGE,
    COMMON_NAME,
    CLAIMED,
)

# A typo is accepted only in names this long (after the suffix is removed): in a two-character
# name one character is half of it.
TYPO_MIN_LENGTH = 3
# Characters that distinguish neighbouring places; a difference in one of them is never a typo:
# directions, sizes, ordinals (东王庄 and 西王庄 are two villages), and the common surnames
# that name so many villages (青岩刘 and 青岩傅 are two villages of 义乌).
DISTINGUISHING_CHARACTERS = frozenset(
    "东西南北中上下前后左右内外里大小新老旧高低一二三四五六七八九十百千甲乙丙丁正副头尾"
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余"
    "杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫阎段雷侯龙"
    "史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤傅常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁"
    "岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝"
    "路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆司卓古吉缪简车项连芦麦褚娄窦戚岑景党"
    "宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩"
    "佘池查麻苑迟邝洪"
)
# The generic words of village names: with one more or one less of them a name is another
# place, not a shorter way of writing it (王家庄 and 王庄, 刘什庄 and 刘庄 are neighbours).
SETTLEMENT_WORDS = frozenset("家庄村屯营寨店集楼堡坊铺桥湾沟河山岭塘坡峪岗圩")
# Directions that may be written before or after a name for the same part of it (西白旄 and
# 白旄西 both say "the west of 白旄").
COMPASS_DIRECTIONS = frozenset("东西南北")
# "韩村" split into 韩村一分村 … 韩村五分村, "华西村" into 华西一村 … 华西十三村.
_SPLIT_PART = re.compile(r"^村?[一二三四五六七八九十]+分?村?$")

# How well a row's village agrees with the village it was matched to, best first; when two
# rows claim one village the better one keeps it.
RANK_NAME = 0  # same name or key, and the same kind (or the list does not say)
RANK_OTHER_KIND = 1  # same key, but the list says 村 and the table has a 社区 (or the reverse)
RANK_VARIANT = 2  # interchangeable characters, numerals
RANK_NEAR = 3  # a near form: contraction, direction, new-village
RANK_TYPO = 4


@dataclass(frozen=True)
class ListRow:
    """One row of a published list, as read (``line`` counts the header as line 1)."""

    line: int
    province: str
    prefecture: str
    county: str
    township: str
    village: str
    extra: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class RowMatch:
    """The outcome for one list row.

    ``method`` lists the rules that were more than plain name equality, level by level
    (``county:key village:key+in-county``), or is ``name`` when every level agreed by name.
    ``candidates`` are the codes an ambiguous row could be; ``reason`` is a stable code and
    ``message`` says it in the user's language. ``rank`` says how well the village's name
    agrees (``RANK_*``); ``duplicate_of`` is the first line of the list naming the same village
    the same way, when the list repeats a row.
    """

    row: ListRow
    status: str
    code: str = ""
    path: tuple[str, ...] = ()
    method: str = ""
    candidates: tuple[str, ...] = ()
    reason: str = ""
    message: str = ""
    rank: int = RANK_NAME
    duplicate_of: int | None = None


@dataclass
class _Step:
    """What a level settled on, and by which rule."""

    nodes: list[DivisionNode]
    rule: str = ""


@dataclass
class _Outcome:
    """A partial result below some level: one village, several, or none with a reason."""

    villages: list[DivisionNode]
    steps: list[tuple[str, str]]
    reason: str = ""
    message: str = ""
    township_found: bool = True

    @property
    def matched(self) -> bool:
        return len(self.villages) == 1 and not self.reason


def find_by_name(
    nodes: Iterable[DivisionNode], name: str, keys: set[str], *, kind: str = ""
) -> _Step:
    """The nodes whose name agrees with ``name``, by the first rule that finds any: the same
    cleaned name, the same key, the same key up to interchangeable characters, then up to the
    way numbers are written (each rule is computed only if the ones before found nothing).
    Where a rule finds several villages and the list says which kind it means (村 or 社区),
    the one of that kind is taken if it is the only one."""
    nodes = list(nodes)
    cleaned = clean(name)
    same = [node for node in nodes if node.cleaned == cleaned]
    if same:
        return _Step(same, "name")
    variants = {interchangeable_form(key) for key in keys}
    numerals = {numeral_form(key) for key in keys}
    rules: tuple[tuple[str, Callable[[DivisionNode], bool]], ...] = (
        ("key", lambda node: bool(node.keys & keys)),
        ("variant", lambda node: bool(node.variant_keys & variants)),
        ("numeral", lambda node: bool(node.numeral_keys & numerals)),
    )
    for rule, agrees in rules:
        found = [node for node in nodes if agrees(node)]
        if len(found) > 1 and kind:
            same_kind = [node for node in found if node.kind == kind]
            if len(same_kind) == 1:
                return _Step(same_kind, f"{rule}+kind")
        if found:
            return _Step(found, rule)
    return _Step([])


def find_by_township_part(villages: Iterable[DivisionNode], key: str, *, kind: str = "") -> _Step:
    """The villages whose name, without a leading part of their township's name, has the key
    (``DivisionNode.township_part_keys``); of several, the one of the kind the list names."""
    found = [node for node in villages if key in node.township_part_keys()]
    if len(found) > 1 and kind:
        same_kind = [node for node in found if node.kind == kind]
        if len(same_kind) == 1:
            return _Step(same_kind, "township-part+kind")
    return _Step(found, "township-part" if found else "")


def find_by_typo(nodes: Iterable[DivisionNode], keys: set[str]) -> _Step:
    """The nodes one typo away from ``keys`` (see :func:`is_typo`)."""
    near = [node for node in nodes if any(is_typo(k, o) for k in keys for o in node.keys)]
    return _Step(near, "typo" if near else "")


def is_typo(left: str, right: str) -> bool:
    """One substituted character in keys of at least ``TYPO_MIN_LENGTH`` characters, neither
    of the two characters one that distinguishes places (``DISTINGUISHING_CHARACTERS``)."""
    if len(left) != len(right) or len(left) < TYPO_MIN_LENGTH:
        return False
    differences = [(a, b) for a, b in zip(left, right, strict=True) if a != b]
    if len(differences) != 1:
        return False
    ((a, b),) = differences
    return a not in DISTINGUISHING_CHARACTERS and b not in DISTINGUISHING_CHARACTERS


def is_contraction(left: str, right: str) -> bool:
    """One key is the other with one inner character left out, as a name is shortened in
    speech and in lists: 塘步东 → 塘东, 孟官屯 → 孟屯, 兴福四 → 兴四. The shorter keeps at
    least two characters, the first and last stay, and the character left out is neither one
    that distinguishes places nor a generic word of village names (王家庄 is not 王庄).

    >>> is_contraction("塘步东", "塘东"), is_contraction("王家庄", "王庄")
    (True, False)
    """
    longer, shorter = (left, right) if len(left) > len(right) else (right, left)
    if len(longer) != len(shorter) + 1 or len(shorter) < MIN_KEY_LENGTH:
        return False
    return any(
        longer[:at] + longer[at + 1 :] == shorter
        and longer[at] not in DISTINGUISHING_CHARACTERS
        and longer[at] not in SETTLEMENT_WORDS
        for at in range(1, len(longer) - 1)
    )


def is_moved_direction(left: str, right: str) -> bool:
    """The same name with a compass direction written after it or before it: 白旄西 = 西白旄.

    >>> is_moved_direction("白旄西", "西白旄"), is_moved_direction("白旄西", "东白旄")
    (True, False)
    """
    if len(left) != len(right) or len(left) < MIN_KEY_LENGTH + 1:
        return False
    return any(
        one[-1] in COMPASS_DIRECTIONS and other == one[-1] + one[:-1]
        for one, other in ((left, right), (right, left))
    )


def is_new_village_form(left: str, right: str) -> bool:
    """X and X新 (the key of X新村): a village merged or rebuilt under the name X新村, named in
    the list or the table by the other name (路西村 and 路西新村委会).

    >>> is_new_village_form("路西", "路西新"), is_new_village_form("新", "新新")
    (True, False)
    """
    shorter, longer = sorted((left, right), key=len)
    return len(shorter) >= MIN_KEY_LENGTH and longer == shorter + "新"


# The near forms of a village's name, weakest last; tried in the list's township only, after
# every rule of equal names, here and elsewhere in the county, has found nothing.
NEAR_FORMS: tuple[tuple[str, Callable[[str, str], bool]], ...] = (
    ("contraction", is_contraction),
    ("direction", is_moved_direction),
    ("new-village", is_new_village_form),
)


def _counties(scope: DivisionNode) -> list[DivisionNode]:
    """The county-level units under a province or prefecture. A prefecture-level city without
    counties (东莞市, 中山市: townships directly under it) stands for its own county."""
    counties = list(scope.descendants("county"))
    prefectures = [scope] if scope.level == "prefecture" else scope.children
    for prefecture in prefectures:
        if prefecture.level == "prefecture" and any(
            child.level == "township" for child in prefecture.children
        ):
            counties.append(prefecture)
    return counties


def _area(county: DivisionNode) -> DivisionNode:
    """The prefecture of a county, or its province where the prefecture is a placeholder (a
    municipality's 市辖区)."""
    prefecture = county.ancestor("prefecture")
    if prefecture is None or prefecture.is_placeholder:
        return county.ancestor("province") or county
    return prefecture


def _villages(township: DivisionNode) -> list[DivisionNode]:
    return [node for node in township.children if node.level == "village"]


def _townships(county: DivisionNode) -> list[DivisionNode]:
    return [node for node in county.children if node.level == "township"]


def _names(nodes: Iterable[DivisionNode]) -> str:
    return ", ".join(f"{node.name} ({node.code})" for node in nodes)


def _without_village(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [step for step in steps if step[0] != "village"]


def _method(steps: list[tuple[str, str]]) -> str:
    """``name`` when every level agreed by name, else the levels that needed more."""
    special = [f"{level}:{rule}" for level, rule in steps if rule != "name"]
    return " ".join(special) or "name"


class ListMatcher:
    """Matches list rows, one at a time, against one :class:`DivisionIndex`.

    :func:`reconcile_rows` adds what needs the whole list (township evidence, rows claiming the
    same village); use it rather than :meth:`match` for a list.
    """

    def __init__(self, index: DivisionIndex) -> None:
        self.index = index

    def match(self, row: ListRow) -> RowMatch:
        if not clean(row.village) or not clean(row.province):
            return _result(
                row,
                UNMATCHED,
                reason=MISSING_NAMES,
                message=_("the row names no village or no province"),
            )
        provinces = find_by_name(self.index.provinces, row.province, {province_key(row.province)})
        if not provinces.nodes:
            return _result(
                row,
                UNMATCHED,
                reason=NO_PROVINCE,
                message=_("no province %(name)s") % {"name": row.province},
            )
        if len(provinces.nodes) > 1:
            return _result(
                row,
                AMBIGUOUS,
                candidates=provinces.nodes,
                reason=SEVERAL_PROVINCES,
                message=_("several provinces are called %(name)s") % {"name": row.province},
            )
        province = provinces.nodes[0]
        steps = [("province", provinces.rule)]
        prefecture = self._prefecture(province, row, steps)
        return _finish(row, self._below_prefecture(province, prefecture, row, steps))

    # --- province to county -----------------------------------------------------------------

    def _prefecture(
        self, province: DivisionNode, row: ListRow, steps: list[tuple[str, str]]
    ) -> DivisionNode | None:
        """The prefecture, or ``None`` when the list's prefecture is not one (北京市 where the
        table has 市辖区) or cannot be told; the county is then sought in the province."""
        real = [
            node
            for node in province.children
            if node.level == "prefecture" and not node.is_placeholder
        ]
        found = (
            find_by_name(real, row.prefecture, {prefecture_key(row.prefecture)})
            if clean(row.prefecture)
            else _Step([])
        )
        if len(found.nodes) == 1:
            steps.append(("prefecture", found.rule))
            return found.nodes[0]
        if not real or prefecture_key(row.prefecture) == province_key(province.name):
            steps.append(("prefecture", "municipality"))
        else:
            steps.append(("prefecture", "not-found"))
        return None

    def _below_prefecture(
        self,
        province: DivisionNode,
        prefecture: DivisionNode | None,
        row: ListRow,
        steps: list[tuple[str, str]],
    ) -> _Outcome:
        keys = {county_key(row.county)} if clean(row.county) else set()
        scope = prefecture or province
        # A municipality's districts are what a prefecture's counties are elsewhere, so the
        # whole municipality is the area of the bridges below.
        area = prefecture or (province if ("prefecture", "municipality") in steps else None)
        found = self._county(scope, row.county, keys)
        if not found.nodes and prefecture is not None:
            wider = self._county(province, row.county, keys)
            if wider.nodes:
                found = _Step(wider.nodes, f"{wider.rule}+other-prefecture")
        if len(found.nodes) == 1:
            county = found.nodes[0]
            steps = [*steps, ("county", found.rule)]
            outcome = self._in_county(county, row, steps)
            if not outcome.matched and not outcome.township_found and area is not None:
                moved = self._township_in_area(area, row, steps, exclude=county)
                if moved is not None and moved.matched:
                    return moved
            return outcome
        if len(found.nodes) > 1:
            return self._in_one_of(
                found.nodes,
                row,
                [*steps, ("county", f"{found.rule}+by-village")],
                reason=SEVERAL_COUNTIES,
                message=_("several counties are called %(name)s: %(candidates)s"),
                name=row.county,
            )
        if area is not None:
            bridged = self._township_in_area(area, row, [*steps, ("county", "not-found")])
            if bridged is not None:
                return bridged
        return _Outcome(
            [],
            steps,
            NO_COUNTY,
            _("no county %(county)s in %(scope)s") % {"county": row.county, "scope": scope.name},
        )

    @staticmethod
    def _county(scope: DivisionNode, name: str, keys: set[str]) -> _Step:
        counties = _counties(scope)
        found = find_by_name(counties, name, keys)
        return found if found.nodes else find_by_typo(counties, keys)

    def _in_one_of(
        self,
        nodes: list[DivisionNode],
        row: ListRow,
        steps: list[tuple[str, str]],
        *,
        reason: str,
        message: str,
        name: str,
        township: bool = False,
    ) -> _Outcome:
        """Several counties (or townships) agree: the row is matched only if exactly one of
        them holds the village."""
        found = []
        for node in nodes:
            outcome = (
                self._in_township(node, row, steps)
                if township
                else self._in_county(node, row, steps)
            )
            if outcome.villages:
                found.append(outcome)
        if len(found) == 1:
            return found[0]
        return _Outcome(
            [village for outcome in found for village in outcome.villages] or nodes,
            steps,
            reason,
            message % {"name": name, "candidates": _names(nodes)},
        )

    # --- county to village ------------------------------------------------------------------

    def _in_county(
        self, county: DivisionNode, row: ListRow, steps: list[tuple[str, str]]
    ) -> _Outcome:
        """The township, then the village in it; failing that the village elsewhere in the
        county (if its name is distinctive); failing that a near form or a typo in the
        township."""
        townships = _townships(county)
        keys = township_keys(row.township, (county.name,)) if clean(row.township) else set()
        found = find_by_name(townships, row.township, keys)
        if not found.nodes and keys:
            found = find_by_typo(townships, keys)
        if len(found.nodes) > 1:
            return self._in_one_of(
                found.nodes,
                row,
                [*steps, ("township", f"{found.rule}+by-village")],
                reason=SEVERAL_TOWNSHIPS,
                message=_("several townships are called %(name)s: %(candidates)s"),
                name=row.township,
                township=True,
            )
        if len(found.nodes) == 1:
            township = found.nodes[0]
            steps = [*steps, ("township", found.rule)]
            missing = self._in_township(township, row, steps)
            if missing.villages:
                return missing
        else:
            township = None
            steps = [*steps, ("township", "not-found")]
            missing = _Outcome(
                [],
                steps,
                NO_TOWNSHIP,
                _("no township %(township)s in %(county)s")
                % {"township": row.township, "county": county.name},
                township_found=False,
            )
        elsewhere = self._elsewhere_in_county(county, row, steps, missing)
        if elsewhere.villages or township is None:
            return elsewhere
        return self._near_in_township(township, row, steps, missing)

    def _in_township(
        self, township: DivisionNode, row: ListRow, steps: list[tuple[str, str]]
    ) -> _Outcome:
        villages = _villages(township)
        key = village_key(row.village)
        kind = village_kind(row.village)
        found = find_by_name(villages, row.village, {key}, kind=kind)
        if not found.nodes:
            found = find_by_township_part(villages, key, kind=kind)
        steps = [*steps, ("village", found.rule or "not-found")]
        if len(found.nodes) == 1:
            return _Outcome(found.nodes, steps)
        if len(found.nodes) > 1:
            return _Outcome(
                found.nodes,
                steps,
                SEVERAL_VILLAGES,
                _("%(township)s has several villages called %(village)s: %(candidates)s")
                % {
                    "township": township.name,
                    "village": row.village,
                    "candidates": _names(found.nodes),
                },
            )
        # 杨村 split into 杨一, 杨二, 杨三: the key's own 村 may go too.
        stems = {key, key[:-1]} if key.endswith("村") and len(key) > 1 else {key}
        parts = [
            node
            for node in villages
            if any(
                other.startswith(stem) and _SPLIT_PART.match(other[len(stem) :])
                for stem in stems
                for other in node.keys
            )
        ]
        if len(parts) > 1:
            return _Outcome(
                parts,
                [*steps[:-1], ("village", "split")],
                SPLIT_VILLAGE,
                _("%(village)s appears split in the table: %(candidates)s")
                % {"village": row.village, "candidates": _names(parts)},
            )
        return _Outcome(
            [],
            steps,
            NO_VILLAGE,
            _("no village %(village)s in %(township)s")
            % {"village": row.village, "township": township.name},
        )

    def _near_in_township(
        self,
        township: DivisionNode,
        row: ListRow,
        steps: list[tuple[str, str]],
        missing: _Outcome,
    ) -> _Outcome:
        """The last resort: the one village of the township whose name is a near form of the
        list's (``NEAR_FORMS``), of the kind the list names; several are ambiguous. Then the
        one village one typo away; several typos are no match (they are named in the
        message, for the reviewer)."""
        villages = _villages(township)
        key = village_key(row.village)
        kind = village_kind(row.village)
        for rule, agrees in NEAR_FORMS:
            near = [
                node
                for node in villages
                if (not kind or node.kind == kind)
                and any(agrees(key, other) for other in node.keys)
            ]
            if len(near) == 1:
                return _Outcome(near, [*steps, ("village", rule)])
            if near:
                return _Outcome(
                    near,
                    [*steps, ("village", rule)],
                    SEVERAL_VILLAGES,
                    _(
                        "%(reason)s; several villages there have a near form of the name "
                        "(%(rule)s): %(candidates)s"
                    )
                    % {"reason": missing.message, "rule": rule, "candidates": _names(near)},
                )
        found = find_by_typo(villages, {key})
        if len(found.nodes) == 1:
            return _Outcome(found.nodes, [*steps, ("village", "typo")])
        if found.nodes:
            return replace(
                missing,
                message=_("%(reason)s (similar: %(candidates)s)")
                % {"reason": missing.message, "candidates": _names(found.nodes)},
            )
        return missing

    def _elsewhere_in_county(
        self,
        county: DivisionNode,
        row: ListRow,
        steps: list[tuple[str, str]],
        missing: _Outcome,
    ) -> _Outcome:
        """The village is not in the list's township (or that township is not found): take
        the one village of that name in the county, if its name is also unique in the whole
        prefecture. A common name (新村, 王庄) found once in the county is as likely another
        village as the list's, whose own committee may have been merged away: it is reported
        as a candidate, not taken. No typos at this width."""
        keys = {village_key(row.village)}
        kind = village_kind(row.village)
        found = find_by_name(county.descendants("village"), row.village, keys, kind=kind)
        steps = [*_without_village(steps), ("village", f"{found.rule}+in-county")]
        flag = {"township_found": missing.township_found}
        if len(found.nodes) == 1:
            area = _area(county)
            namesakes = find_by_name(area.descendants("village"), row.village, keys, kind=kind)
            if len(namesakes.nodes) == 1:
                return _Outcome(found.nodes, steps, **flag)
            return _Outcome(
                found.nodes,
                steps,
                COMMON_NAME,
                _(
                    "%(reason)s; %(candidates)s elsewhere in %(county)s has the name, but "
                    "%(count)d villages of %(area)s have it: not taken without more evidence"
                )
                % {
                    "reason": missing.message,
                    "candidates": _names(found.nodes),
                    "county": county.name,
                    "count": len(namesakes.nodes),
                    "area": area.name,
                },
                **flag,
            )
        if len(found.nodes) > 1:
            return _Outcome(
                found.nodes,
                steps,
                SEVERAL_VILLAGES,
                _(
                    "%(reason)s; %(county)s has several villages called %(village)s "
                    "elsewhere: %(candidates)s"
                )
                % {
                    "reason": missing.message,
                    "county": county.name,
                    "village": row.village,
                    "candidates": _names(found.nodes),
                },
                **flag,
            )
        return missing

    def _township_in_area(
        self,
        area: DivisionNode,
        row: ListRow,
        steps: list[tuple[str, str]],
        *,
        exclude: DivisionNode | None = None,
    ) -> _Outcome | None:
        """The county is not found (renamed, split, a development zone), or the township is
        not in it (moved to another district): take a village whose township and village both
        agree, if that pair is unique in the prefecture."""
        if not clean(row.township):
            return None
        found: list[DivisionNode] = []
        rules: set[str] = set()
        for county in _counties(area):
            if county is exclude:
                continue
            keys = township_keys(row.township, (county.name,))
            for township in find_by_name(_townships(county), row.township, keys).nodes:
                villages = find_by_name(
                    _villages(township),
                    row.village,
                    {village_key(row.village)},
                    kind=village_kind(row.village),
                )
                found += villages.nodes
                rules.add(villages.rule)
        if not found:
            return None
        steps = [*_without_village(steps), ("township", "other-county")]
        if len(found) == 1:
            return _Outcome(found, [*steps, ("village", rules.pop())])
        return _Outcome(
            found,
            steps,
            SEVERAL_VILLAGES,
            _("several villages called %(village)s in a township %(township)s of %(area)s")
            % {"village": row.village, "township": row.township, "area": area.name},
        )


def _finish(row: ListRow, outcome: _Outcome) -> RowMatch:
    method = _method(outcome.steps)
    if outcome.matched:
        village = outcome.villages[0]
        return _result(
            row,
            MATCHED,
            code=village.code,
            path=tuple(node.name for node in village.path()),
            method=method,
            rank=_rank(row, village, outcome.steps),
        )
    if outcome.villages:
        return _result(
            row,
            AMBIGUOUS,
            candidates=outcome.villages,
            method=method,
            reason=outcome.reason,
            message=outcome.message,
        )
    return _result(row, UNMATCHED, method=method, reason=outcome.reason, message=outcome.message)


def _rank(row: ListRow, village: DivisionNode, steps: list[tuple[str, str]]) -> int:
    rule = dict(steps).get("village", "name")
    if rule.startswith("typo"):
        return RANK_TYPO
    if rule.split("+")[0] in dict(NEAR_FORMS):
        return RANK_NEAR
    if rule.startswith(("variant", "numeral")):
        return RANK_VARIANT
    kind = village_kind(row.village)
    return RANK_OTHER_KIND if kind and village.kind != kind else RANK_NAME


def _result(
    row: ListRow,
    status: str,
    *,
    code: str = "",
    path: tuple[str, ...] = (),
    method: str = "",
    candidates: Iterable[DivisionNode] = (),
    reason: str = "",
    message: str = "",
    rank: int = RANK_NAME,
) -> RowMatch:
    return RowMatch(
        row=row,
        status=status,
        code=code,
        path=path,
        method=method,
        candidates=tuple(sorted({node.code for node in candidates})),
        reason=reason,
        message=message,
        rank=rank,
    )


# --- the whole list ---------------------------------------------------------------------------


def reconcile_rows(
    index: DivisionIndex,
    rows: Sequence[ListRow],
    *,
    on_row: Callable[[], None] | None = None,
) -> list[RowMatch]:
    """Match every row, then settle what needs the whole list (see the module's docstring).
    ``on_row`` is called after each row (a progress bar)."""
    matcher = ListMatcher(index)
    matches = []
    for row in rows:
        matches.append(matcher.match(row))
        if on_row is not None:
            on_row()
    matches = _apply_township_evidence(index, matches)
    return _settle_claims(matches)


def _list_township(row: ListRow) -> str:
    return township_key(row.township) if clean(row.township) else ""


def _apply_township_evidence(index: DivisionIndex, matches: list[RowMatch]) -> list[RowMatch]:
    """A common name found once elsewhere in the county is taken when other rows of the same
    list township were matched, each by a distinctive name, into that very township."""
    evidence: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(dict)
    for match in matches:
        if match.status == MATCHED and "+in-county" in match.method:
            township = match.code[:9] + "000"
            key = (match.code[:6], _list_township(match.row))
            evidence[key].setdefault(township, []).append(match.row.line)
    if not evidence:
        return matches
    settled = []
    for match in matches:
        if match.reason == COMMON_NAME and len(match.candidates) == 1:
            code = match.candidates[0]
            lines = evidence.get((code[:6], _list_township(match.row)), {}).get(code[:9] + "000")
            village = index.get(code)
            if lines and village is not None:
                match = replace(
                    match,
                    status=MATCHED,
                    code=code,
                    path=tuple(node.name for node in village.path()),
                    method=f"{match.method}+township-evidence",
                    candidates=(),
                    reason="",
                    message=_("%(township)s matched into %(into)s on line(s) %(lines)s")
                    % {
                        "township": match.row.township,
                        "into": village.parent.name if village.parent else "",
                        "lines": ", ".join(map(str, lines)),
                    },
                    rank=_rank(match.row, village, []),
                )
        settled.append(match)
    return settled


def _settle_claims(matches: list[RowMatch]) -> list[RowMatch]:
    """Rows that claim the same village: the best-ranked row keeps it; a row that repeats it
    the same way is a duplicate (both stay matched); any other claimant becomes ambiguous."""
    claims: dict[str, list[int]] = defaultdict(list)
    for position, match in enumerate(matches):
        if match.status == MATCHED:
            claims[match.code].append(position)
    settled = list(matches)
    for code, positions in claims.items():
        if len(positions) < 2:
            continue
        best = min(matches[p].rank for p in positions)
        keepers = [p for p in positions if matches[p].rank == best]
        first = matches[keepers[0]]
        same_way = all(
            village_key(matches[p].row.village) == village_key(first.row.village) for p in keepers
        )
        for position in positions:
            match = matches[position]
            if position in keepers and same_way:
                if position != keepers[0]:
                    settled[position] = replace(match, duplicate_of=first.row.line)
                continue
            others = [matches[p].row.line for p in positions if p != position]
            settled[position] = replace(
                match,
                status=AMBIGUOUS,
                code="",
                path=(),
                candidates=(code,),
                reason=CLAIMED,
                message=_("line(s) %(lines)s also match %(name)s (%(code)s)%(better)s")
                % {
                    "lines": ", ".join(map(str, others)),
                    "name": match.path[-1] if match.path else code,
                    "code": code,
                    "better": _(", and match it better") if match.rank > best else "",
                },
            )
    return settled

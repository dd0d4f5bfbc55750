"""Name normalisation for matching published lists to NBS division names.

A published list and the NBS table name the same place differently: the table writes a
village as ``灶美村委会`` where the list writes ``灶美村``, a township as ``曹县大集镇`` or
``霞林街道办事处`` where the list writes ``大集镇`` or ``霞林街道``, and a county as ``吴江区``
for a list's ``吴江市`` after its re-designation. Each level therefore has a *key*: the name
without its administrative suffix (and, for autonomous areas, without the ethnic part), after
Unicode compatibility folding and the folding of variant forms of a character. Two names with
the same key at the same place in the tree are treated as the same name; which rules apply in
which order is the matcher's business (:mod:`taocun.labels.reconcile.matching`).

>>> village_key("灶美村委会"), village_key("灶美村"), village_key("新村委会")
('灶美', '灶美', '新村')
>>> township_key("霞林街道办事处"), township_key("霞林街道")
('霞林', '霞林')
>>> county_key("吴江市"), county_key("吴江区")
('吴江', '吴江')
>>> prefecture_key("延边朝鲜族自治州"), province_key("宁夏回族自治区")
('延边', '宁夏')
"""

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

# The 56 recognised nationalities, longest first so that 蒙古 wins over a shorter prefix.
_ETHNIC_GROUP_NAMES = (
    "汉 蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 "
    "高山 拉祜 水 东乡 纳西 景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 "
    "普米 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 塔塔尔 独龙 鄂伦春 赫哲 门巴 "
    "珞巴 基诺"
)
ETHNIC_GROUPS = sorted(_ETHNIC_GROUP_NAMES.split(" "), key=len, reverse=True)
_ETHNIC = "|".join(ETHNIC_GROUPS)
# "大理白族自治州", "恩施土家族苗族自治州", "伊犁哈萨克自治州", "积石山保安族东乡族撒拉族自治县",
# "各族自治县": one or more nationalities, with or without 族, then 自治 and the unit.
_AUTONOMOUS = re.compile(rf"(?:(?:{_ETHNIC}|各)族?)+自治(?:区|州|县|旗)$")
# "XX回族乡", "XX满族镇", "XX民族乡".
_ETHNIC_TOWNSHIP = re.compile(rf"(?:(?:{_ETHNIC})族)+(?:乡|镇|苏木)$|民族(?:乡|镇)$")

# Variant forms of one character (异体字, merged by the 1955 table of variants): always
# folded, whichever side uses them.
VARIANT_CHARACTERS = str.maketrans(
    {"邨": "村", "峯": "峰", "菴": "庵", "巖": "岩", "塲": "场", "厰": "厂", "裏": "里", "嶴": "岙"}
)

# Different characters that the published lists and the NBS table use for the same place name:
# the same sound and mostly the same phonetic part, written one way by the county and the
# other by the list's editors. Each pair was found by reviewing the 2014-2016 lists against the
# 2016 table: 横板/横坂, 沙窖/沙滘, 三塘/三瑭, 新杨/新扬, 上漖/上教, 李元/李园, 横泾/横径,
# 秀土/秀涂, 王金洋/王金垟, 鹤栖/鹤西 (栖 is also read xī, and 西 is its phonetic part). They
# are not folded by default: a match through them is its own, weaker rule ("variant"), tried
# only when the names do not agree otherwise, and accepted only when it is unique.
INTERCHANGEABLE_CHARACTERS = str.maketrans(
    {
        "坂": "板",
        "滘": "窖",
        "瑭": "塘",
        "扬": "杨",
        "漖": "教",
        "园": "元",
        "径": "泾",
        "涂": "土",
        "垟": "洋",
        "栖": "西",
    }
)

# The formal numerals (大写数字, written on cheques and sometimes in names: 伍佰 for 五百) and
# their ordinary forms; with Arabic digits written as Chinese numerals, the "numeral" rule.
# Not folded by default either: 伍 and 陆 are also surnames (伍家村, 陆家镇).
FORMAL_NUMERALS = str.maketrans(
    {
        "壹": "一",
        "贰": "二",
        "叁": "三",
        "肆": "四",
        "伍": "五",
        "陆": "六",
        "柒": "七",
        "捌": "八",
        "玖": "九",
        "拾": "十",
        "佰": "百",
        "仟": "千",
        "〇": "零",
    }
)
_DIGITS = "零一二三四五六七八九"
_ARABIC_NUMBER = re.compile(r"[0-9]+")
_LONGEST_WRITTEN_NUMBER = 9999  # longer digit strings are codes, not a place's number

PROVINCE_SUFFIXES = ("特别行政区", "自治区", "省", "市")
PREFECTURE_SUFFIXES = ("自治州", "地区", "市", "盟", "州")
COUNTY_SUFFIXES = ("自治县", "自治旗", "特区", "林区", "县", "市", "区", "旗")
TOWNSHIP_SUFFIXES = ("街道办事处", "地区办事处", "办事处", "街道办", "街道", "苏木", "镇", "乡")
# What a village-level unit is called, as (suffix, replacement, kind). The committee of
# village X is "X村委会" or "X村民委员会", so those become "X村" (keeping its 村: "新村委会" is
# the committee of 新村); then a bare 村, 社区, 居 or 嘎查 goes, as long as two characters stay.
VILLAGE_TAILS = (
    ("村民委员会", "村", "village"),
    ("村委会", "村", "village"),
    ("居民委员会", "", "residents"),
    ("居委会", "", "residents"),
    ("牧委会", "", "village"),
    ("委员会", "", ""),
    ("社区", "", "residents"),
    ("嘎查", "", "village"),
    ("村", "", "village"),
    ("居", "", "residents"),
)
# What a village's name cannot start with once a township's name is taken off its front
# ("杨村桥村委会" in 杨村桥镇 is not "村委会", "相衙镇庞庄" not "镇庞庄").
_NOT_A_NAME_START = ("村", "社区", "居", "委", "嘎查", "牧委", *TOWNSHIP_SUFFIXES)

# Placeholder prefectures of the NBS table: the municipalities' 市辖区 and 县, and the
# directly administered county-level cities of some provinces.
PLACEHOLDER_PREFECTURES = frozenset(
    {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}
)

MIN_KEY_LENGTH = 2
# Separators (spaces), punctuation, symbols and control characters are dropped.
_DROPPED_CATEGORIES = frozenset("ZPSC")
_PLAIN_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
_PARENTHESISED = re.compile(r"\([^()]*\)")
_CACHE_SIZE = 1 << 16


@lru_cache(maxsize=_CACHE_SIZE)
def clean(name: str) -> str:
    """The name as compared: NFKC-folded (full-width forms, compatibility ideographs), variant
    characters folded, without spaces and marks (the 2015 list flags new villages with ``*``).
    Parentheses stay, as ``()``, for the village rules."""
    if _PLAIN_HAN.fullmatch(name):  # the common case, and the fast one
        return name.translate(VARIANT_CHARACTERS)
    folded = unicodedata.normalize("NFKC", name or "").translate(VARIANT_CHARACTERS)
    return "".join(
        char
        for char in folded
        if char in "()" or unicodedata.category(char)[0] not in _DROPPED_CATEGORIES
    )


def interchangeable_form(key: str) -> str:
    """The key with interchangeable characters folded (see ``INTERCHANGEABLE_CHARACTERS``)."""
    return key.translate(INTERCHANGEABLE_CHARACTERS)


def numeral_form(key: str) -> str:
    """The interchangeable form with numbers written one way: formal numerals folded to the
    ordinary ones and Arabic numbers (up to four digits) written out.

    >>> numeral_form("伍佰"), numeral_form("第12组"), numeral_form("兴4"), numeral_form("105")
    ('五百', '第十二组', '兴四', '一百零五')
    """
    written = _ARABIC_NUMBER.sub(_written_number, key)
    return interchangeable_form(written.translate(FORMAL_NUMERALS))


def _written_number(match: re.Match) -> str:
    digits = match.group()
    number = int(digits)
    return digits if number > _LONGEST_WRITTEN_NUMBER else _chinese_number(number)


def _chinese_number(number: int) -> str:
    """0-9999 as written in Chinese place names: 10 → 十, 12 → 十二, 105 → 一百零五."""
    if number < 10:
        return _DIGITS[number]
    if number < 20:
        return "十" + (_DIGITS[number - 10] if number > 10 else "")
    text, gap = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = number // value % 10
        if digit:
            text += ("零" if gap and text else "") + _DIGITS[digit] + unit
            gap = False
        else:
            gap = True
    return text


def _without_parentheses(cleaned: str) -> str:
    return _PARENTHESISED.sub("", cleaned) or cleaned


def _strip_suffix(name: str, suffixes: tuple[str, ...]) -> str:
    """The name without the first matching suffix, unless too little would remain."""
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) - len(suffix) >= MIN_KEY_LENGTH:
            return name[: -len(suffix)]
    return name


def _strip_autonomous(name: str) -> str:
    match = _AUTONOMOUS.search(name)
    if match and match.start() >= MIN_KEY_LENGTH:
        return name[: match.start()]
    return name


def province_key(name: str) -> str:
    """``北京市`` and ``北京`` → ``北京``; ``广西壮族自治区`` → ``广西``."""
    return _strip_suffix(_strip_autonomous(clean(name)), PROVINCE_SUFFIXES)


def prefecture_key(name: str) -> str:
    """``金华市`` → ``金华``, ``大理白族自治州`` → ``大理``, ``阿里地区`` → ``阿里``."""
    return _strip_suffix(_strip_autonomous(clean(name)), PREFECTURE_SUFFIXES)


def county_key(name: str) -> str:
    """A county's name without 县/市/区/旗: a re-designated county (县 → 市 → 区) keeps it."""
    return _strip_suffix(_strip_autonomous(clean(name)), COUNTY_SUFFIXES)


@lru_cache(maxsize=_CACHE_SIZE)
def township_key(name: str) -> str:
    """镇, 乡, 街道, 街道办事处, 苏木 and ethnic townships (``XX回族乡``) lose their suffix, so a
    township that became a 镇 or a 街道 keeps its key."""
    cleaned = _without_parentheses(clean(name))
    match = _ETHNIC_TOWNSHIP.search(cleaned)
    if match and match.start() >= MIN_KEY_LENGTH:
        return cleaned[: match.start()]
    return _strip_suffix(cleaned, TOWNSHIP_SUFFIXES)


def township_keys(name: str, county_names: Iterable[str]) -> set[str]:
    """The township's key, and its key without a leading county name: the NBS table writes
    ``曹县大集镇`` (under 曹县) where the list writes ``大集镇``."""
    cleaned = clean(name)
    keys = {township_key(cleaned)}
    for county in county_names:
        for prefix in {clean(county), county_key(county)}:
            rest = cleaned.removeprefix(prefix)
            if len(prefix) >= MIN_KEY_LENGTH and rest != cleaned:
                rest_key = township_key(rest)
                if len(rest_key) >= MIN_KEY_LENGTH:
                    keys.add(rest_key)
    return keys


def village_key(name: str) -> str:
    """``灶美村委会``, ``灶美村民委员会``, ``灶美村村委会``, ``灶美社区居委会`` and ``灶美村`` →
    ``灶美``; ``新村委会`` and ``新村`` → ``新村``. A parenthesised part is dropped
    (``白庙村农工商联合公司（村委会）``)."""
    return _village_parts(clean(name))[0]


def village_kind(name: str) -> str:
    """What the name says the unit is: ``village`` (村, 村委会, 嘎查), ``residents`` (社区,
    居委会) or ``""`` when it does not say."""
    return _village_parts(clean(name))[1]


def village_keys(name: str, township_forms: Iterable[str]) -> set[str]:
    """The village's key, and its key without a leading township name (any of
    ``township_forms``: the township's name and keys): the NBS table writes
    ``大集东北街村民委员会`` in 曹县大集镇 where the list writes ``东北街村``."""
    cleaned = clean(name)
    keys = {_village_parts(cleaned)[0]}
    for prefix in township_forms:
        rest = cleaned.removeprefix(prefix)
        if len(prefix) < MIN_KEY_LENGTH or rest == cleaned or rest.startswith(_NOT_A_NAME_START):
            continue
        rest_key = _village_parts(rest)[0]
        if len(rest_key) >= MIN_KEY_LENGTH:
            keys.add(rest_key)
    return keys


def township_parts(township_key: str) -> set[str]:
    """The leading and trailing parts, of two characters or more, of a township's key: the
    NBS table prefixes some villages with a *part* of their township's name, ``大庄刘庄`` in
    张大庄镇 (beside ``张大庄沈庄``), where the list writes ``刘庄``.

    >>> sorted(township_parts("张大庄")), township_parts("大集")
    (['大庄', '张大'], set())
    """
    length = len(township_key)
    return {township_key[:end] for end in range(MIN_KEY_LENGTH, length)} | {
        township_key[start:] for start in range(1, length - MIN_KEY_LENGTH + 1)
    }


@lru_cache(maxsize=_CACHE_SIZE)
def _village_parts(cleaned: str) -> tuple[str, str]:
    text = _without_parentheses(cleaned)
    kind = ""
    changed = True
    while changed:
        changed = False
        for suffix, replacement, tail_kind in VILLAGE_TAILS:
            if not text.endswith(suffix):
                continue
            shorter = text[: -len(suffix)] + replacement
            if len(shorter) >= MIN_KEY_LENGTH and shorter != text:
                text, changed = shorter, True
                kind = kind or tail_kind
                break
    if not kind:  # "新村" keeps its 村 but still says what it is
        kind = next((k for suffix, _, k in VILLAGE_TAILS if text.endswith(suffix)), "")
    return text, kind

"""Reconciling published lists with division codes (``taocun labels reconcile``).

Every matching test runs twice, with the division tree in the platform database and in a
divisions file, through the service; the CLI tests go through ``call_command``. The tree is a
small slice of real NBS names, with the cases the published lists need (suffixes, county
prefixes, municipalities, re-designated counties, moved townships), plus a few villages made
up to create traps (two villages with one name, a common name elsewhere in the county).
"""

import csv
import io
import random
from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from taocun.core.errors import Conflict, ImportRejected, NotFound, ValidationError
from taocun.labels.models import EvaluationStatus
from taocun.labels.reconcile import names
from taocun.labels.reconcile.index import index_from_file
from taocun.labels.reconcile.listfile import read_list
from taocun.labels.reconcile.matching import (
    AMBIGUOUS,
    CLAIMED,
    COMMON_NAME,
    DISTINGUISHING_CHARACTERS,
    MATCHED,
    MISSING_NAMES,
    NEAR_FORMS,
    NO_COUNTY,
    NO_PROVINCE,
    NO_TOWNSHIP,
    NO_VILLAGE,
    SEVERAL_VILLAGES,
    SPLIT_VILLAGE,
    UNMATCHED,
    ListRow,
    is_contraction,
    is_moved_direction,
    is_new_village_form,
    is_typo,
    reconcile_rows,
)
from taocun.labels.reconcile.services import published_list_reconcile
from taocun.labels.tests.factories import EvaluationFactory, VillageResultFactory
from taocun.regions.models import Division

# (code, name, level, parent_code)
TREE = [
    ("110000000000", "北京市", "province", ""),
    ("110100000000", "市辖区", "prefecture", "110000000000"),
    ("110111000000", "房山区", "county", "110100000000"),
    ("110111115000", "长阳镇", "township", "110111000000"),
    ("110111115201", "阎仙垡村委会", "village", "110111115000"),
    ("320000000000", "江苏省", "province", ""),
    ("320400000000", "常州市", "prefecture", "320000000000"),
    ("320411000000", "新北区", "county", "320400000000"),
    ("320411101000", "奔牛镇", "township", "320411000000"),
    ("320411101201", "东桥村村委会", "village", "320411101000"),
    ("320412000000", "武进区", "county", "320400000000"),
    ("320412100000", "湖塘镇", "township", "320412000000"),
    ("320412100201", "马杭村村委会", "village", "320412100000"),
    ("320500000000", "苏州市", "prefecture", "320000000000"),
    ("320509000000", "吴江区", "county", "320500000000"),
    ("320509102000", "盛泽镇", "township", "320509000000"),
    ("320509102201", "黄家溪村委会", "village", "320509102000"),
    ("330000000000", "浙江省", "province", ""),
    ("330700000000", "金华市", "prefecture", "330000000000"),
    ("330782000000", "义乌市", "county", "330700000000"),
    ("330782002000", "江东街道", "township", "330782000000"),
    ("330782002201", "下王村委会", "village", "330782002000"),
    ("330782003000", "稠江街道", "township", "330782000000"),
    ("330782003001", "灶美社区居委会", "village", "330782003000"),
    ("330782003210", "前仓村委会", "village", "330782003000"),
    ("330782003211", "新村村委会", "village", "330782003000"),
    ("330782003212", "灶美村委会", "village", "330782003000"),
    ("330782003213", "东村村委会", "village", "330782003000"),
    ("330782003214", "东村村民委员会", "village", "330782003000"),
    ("330782003215", "横坂村委会", "village", "330782003000"),
    ("330782003216", "广圣店村委会", "village", "330782003000"),
    ("330782003217", "青岩傅村委会", "village", "330782003000"),
    ("330782003218", "华西一村村委会", "village", "330782003000"),
    ("330782003219", "华西二村村委会", "village", "330782003000"),
    ("330782005000", "后宅街道", "township", "330782000000"),
    ("330782005219", "李祖村委会", "village", "330782005000"),
    ("330782005220", "鲇溪村委会", "village", "330782005000"),
    ("330782005221", "塘下村委会", "village", "330782005000"),
    ("330783000000", "东阳市", "county", "330700000000"),
    ("330783002000", "白云街道", "township", "330783000000"),
    ("330783002201", "新村村委会", "village", "330783002000"),
    ("330783002202", "塘下村委会", "village", "330783002000"),
    ("370000000000", "山东省", "province", ""),
    ("371700000000", "菏泽市", "prefecture", "370000000000"),
    ("371721000000", "曹县", "county", "371700000000"),
    ("371721121000", "曹县大集镇", "township", "371721000000"),
    ("371721121227", "丁楼村民委员会", "village", "371721121000"),
    ("371721121228", "大集东北街村民委员会", "village", "371721121000"),
    # Near forms of names (real, except the villages marked as traps).
    ("330782003006", "杨一居委会", "village", "330782003000"),
    ("330782003007", "杨二居委会", "village", "330782003000"),
    ("330782003008", "杨三居委会", "village", "330782003000"),
    ("330600000000", "绍兴市", "prefecture", "330000000000"),
    ("330681000000", "诸暨市", "county", "330600000000"),
    ("330681101000", "大唐镇", "township", "330681000000"),
    ("330681101240", "路西新村委会", "village", "330681101000"),
    ("330681101290", "长乐新村居委会", "village", "330681101000"),  # trap
    ("331000000000", "台州市", "prefecture", "330000000000"),
    ("331023000000", "天台县", "county", "331000000000"),
    ("331023101000", "白鹤镇", "township", "331023000000"),
    ("331023101363", "鹤西新村委会", "village", "331023101000"),
    ("331023101390", "一百村委会", "village", "331023101000"),  # trap
    ("331023101391", "壹佰村委会", "village", "331023101000"),  # trap
    ("331023106000", "坦头镇", "township", "331023000000"),
    ("331023106205", "五百村委会", "village", "331023106000"),
    ("371300000000", "临沂市", "prefecture", "370000000000"),
    ("371329000000", "临沭县", "county", "371300000000"),
    ("371329108000", "青云镇", "township", "371329000000"),
    ("371329108009", "西白旄居委会", "village", "371329108000"),
    ("371329108273", "东白旄村村委会", "village", "371329108000"),
    ("371400000000", "德州市", "prefecture", "370000000000"),
    ("371422000000", "宁津县", "county", "371400000000"),
    ("371422105000", "大柳镇", "township", "371422000000"),
    ("371422105248", "刘庄村委会", "village", "371422105000"),
    ("371422106000", "大曹镇", "township", "371422000000"),
    ("371422106249", "刘庄村委会", "village", "371422106000"),
    ("371422109000", "张大庄镇", "township", "371422000000"),
    ("371422109228", "张大庄沈庄村委会", "village", "371422109000"),
    ("371422109231", "大庄魏庄村委会", "village", "371422109000"),
    ("371422109244", "大庄刘庄村委会", "village", "371422109000"),
    ("371422109290", "张大魏庄村委会", "village", "371422109000"),  # trap
    ("371600000000", "滨州市", "prefecture", "370000000000"),
    ("371625000000", "博兴县", "county", "371600000000"),
    ("371625102000", "兴福镇", "township", "371625000000"),
    ("371625102200", "兴福一村村委会", "village", "371625102000"),
    ("371625102203", "兴福四村村委会", "village", "371625102000"),
    ("371625102290", "兴和一村村委会", "village", "371625102000"),  # trap
    ("371625102291", "王家庄村委会", "village", "371625102000"),  # trap
    ("371625106000", "陈户镇", "township", "371625000000"),
    ("371625106290", "孟官屯村委会", "village", "371625106000"),  # trap
]
REPO = Path(__file__).resolve().parents[4]
SHARED_DATA = REPO.parent / "shared" / "data"
NATIONAL_FILE = SHARED_DATA / "divisions-cn-2016.csv.gz"


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def store_tree() -> None:
    Division.objects.bulk_create(
        Division(code=code, name=name, level=level, parent_id=parent or None)
        for code, name, level, parent in TREE
    )


@pytest.fixture(params=["db", "file"])
def divisions(request, db, tmp_path) -> Path | None:
    """The tree in the platform database (``None``: the default source) or in a file."""
    if request.param == "db":
        store_tree()
        return None
    return write_csv(
        tmp_path / "divisions.csv",
        ["code", "name", "level", "parent_code"],
        [list(row) for row in TREE],
    )


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English, whatever the site's default language."""
    with translation.override("en"):
        yield


@pytest.fixture
def reconcile(divisions, tmp_path):
    """Reconcile list rows (``province,prefecture,county,township,village`` strings) and
    return the matches, in order."""

    def run(*rows: str, **options):
        path = write_csv(
            tmp_path / "list.csv",
            ["province", "prefecture", "county", "township", "village"],
            [row.split(",") for row in rows],
        )
        return published_list_reconcile(path=path, divisions_path=divisions, **options)

    return run


def only(result):
    (match,) = result.matches
    return match


# --- normalisation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key", "kind"),
    [
        ("灶美村委会", "灶美", "village"),
        ("灶美村民委员会", "灶美", "village"),
        ("灶美村村委会", "灶美", "village"),
        ("灶美村", "灶美", "village"),
        ("灶美", "灶美", ""),
        ("灶美社区居委会", "灶美", "residents"),
        ("灶美社区", "灶美", "residents"),
        ("灶美居委会", "灶美", "residents"),
        ("白旄西居", "白旄西", "residents"),
        ("新村委会", "新村", "village"),  # the committee of 新村, not of 新
        ("新村村委会", "新村", "village"),
        ("新村", "新村", "village"),
        ("张村", "张村", "village"),
        ("XX社区村委会", "XX", "village"),
        ("古龙村*", "古龙", "village"),  # the 2015 list marks new villages with *
        ("　灶 美 村 ", "灶美", "village"),  # full-width and ordinary spaces
        ("灶美邨", "灶美", "village"),  # variant form of 村
        ("白庙村农工商联合公司（村委会）", "白庙村农工商联合公司", ""),
        ("巴音嘎查", "巴音", "village"),
    ],
)
def test_village_key_and_kind(name, key, kind):
    assert names.village_key(name) == key
    assert names.village_kind(name) == kind


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("霞林街道办事处", "霞林"),
        ("霞林街道", "霞林"),
        ("大集镇", "大集"),
        ("大集乡", "大集"),  # a 乡 that became a 镇 keeps its key
        ("怀柔地区办事处", "怀柔"),
        ("柳城畲族镇", "柳城"),
        ("鄂伦春民族乡", "鄂伦春"),
        ("巴彦苏木", "巴彦"),
        ("镇", "镇"),  # never stripped to nothing
    ],
)
def test_township_key(name, key):
    assert names.township_key(name) == key


def test_township_keys_drop_a_leading_county_name():
    assert names.township_keys("曹县大集镇", ["曹县"]) == {"曹县大集", "大集"}
    assert names.township_keys("密云镇", ["密云区"]) == {"密云"}  # its own name stays


def test_village_keys_drop_a_leading_township_name():
    forms = ("曹县大集镇", "曹县大集", "大集")
    assert names.village_keys("大集东北街村民委员会", forms) == {"大集东北街", "东北街"}
    assert names.village_keys("杨村桥村委会", ("杨村桥镇", "杨村桥")) == {"杨村桥"}
    assert names.village_keys("相衙镇庞庄村委会", ("相衙镇", "相衙")) == {"相衙镇庞庄", "庞庄"}


@pytest.mark.parametrize(
    ("function", "name", "key"),
    [
        (names.county_key, "吴江市", "吴江"),
        (names.county_key, "吴江区", "吴江"),
        (names.county_key, "曹县", "曹县"),  # a one-character name keeps its suffix
        (names.county_key, "长阳土家族自治县", "长阳"),
        (names.county_key, "积石山保安族东乡族撒拉族自治县", "积石山"),
        (names.county_key, "鄂温克族自治旗", "鄂温克族"),  # the nationality is the name
        (names.prefecture_key, "延边朝鲜族自治州", "延边"),
        (names.prefecture_key, "伊犁哈萨克自治州", "伊犁"),
        (names.prefecture_key, "阿里地区", "阿里"),
        (names.prefecture_key, "锡林郭勒盟", "锡林郭勒"),
        (names.province_key, "北京", "北京"),
        (names.province_key, "北京市", "北京"),
        (names.province_key, "宁夏回族自治区", "宁夏"),
        (names.province_key, "内蒙古自治区", "内蒙古"),
        (names.province_key, "香港特别行政区", "香港"),
    ],
)
def test_higher_level_keys(function, name, key):
    assert function(name) == key


def test_interchangeable_characters_are_a_separate_form():
    assert names.village_key("横板村") != names.village_key("横坂村委会")
    assert names.interchangeable_form("横坂") == names.interchangeable_form("横板")
    assert names.interchangeable_form("鹤栖") == names.interchangeable_form("鹤西")


@pytest.mark.parametrize(
    ("key", "form"),
    [
        ("伍佰", "五百"),
        ("壹佰", "一百"),
        ("兴4", "兴四"),
        ("第10组", "第十组"),
        ("12", "十二"),
        ("20", "二十"),
        ("105", "一百零五"),
        ("2016", "二千零一十六"),
        ("123456", "123456"),  # a long number is not a place's number: kept
        ("五百", "五百"),
    ],
)
def test_numerals_are_written_one_way(key, form):
    assert names.numeral_form(key) == form


def test_township_parts():
    assert names.township_parts("张大庄") == {"张大", "大庄"}
    assert names.township_parts("大集") == set()  # a part is two characters or more


@pytest.mark.parametrize(
    ("rule", "left", "right", "agrees"),
    [
        (is_contraction, "塘步东", "塘东", True),
        (is_contraction, "孟屯", "孟官屯", True),  # either side may be the shorter
        (is_contraction, "兴四", "兴福四", True),
        (is_contraction, "王庄", "王家庄", False),  # a generic word makes another place
        (is_contraction, "刘庄", "刘大庄", False),  # so does a size, a direction, a surname
        (is_contraction, "塘东", "东", False),  # too short
        (is_contraction, "塘步东", "步东", False),  # the first character stays
        (is_contraction, "塘东", "塘东", False),
        (is_moved_direction, "白旄西", "西白旄", True),
        (is_moved_direction, "西白旄", "白旄西", True),
        (is_moved_direction, "白旄西", "东白旄", False),
        (is_moved_direction, "马上", "上马", False),  # not a compass direction, too short
        (is_moved_direction, "白旄上", "上白旄", False),
        (is_new_village_form, "路西", "路西新", True),
        (is_new_village_form, "湖鹤新", "湖鹤", True),
        (is_new_village_form, "新", "新新", False),
        (is_new_village_form, "路西", "路西东", False),
    ],
)
def test_near_forms(rule, left, right, agrees):
    assert rule(left, right) is agrees


@pytest.mark.parametrize(
    ("left", "right", "typo"),
    [
        ("广圣殿", "广圣店", True),
        ("广圣", "广店", False),  # too short
        ("青岩刘", "青岩傅", False),  # surnames tell villages apart
        ("东王庄", "西王庄", False),  # so do directions
        ("大王庄", "小王庄", False),
        ("王家庄", "王庄", False),  # a missing character is not a typo
        ("广圣殿", "广圣殿", False),
    ],
)
def test_typo(left, right, typo):
    assert is_typo(left, right) is typo
    assert "刘" in DISTINGUISHING_CHARACTERS


# --- matching through the hierarchy ---------------------------------------------------------


def test_names_differing_only_by_suffixes_match_by_key(reconcile):
    result = reconcile(
        "浙江省,金华市,义乌市,稠江街道,前仓村",
        "山东省,菏泽市,曹县,大集镇,丁楼村",
        "江苏省,苏州市,吴江市,盛泽镇,黄家溪村",
        "北京,北京市,房山区,长阳镇,阎仙垡村",
    )
    codes = [(m.status, m.code) for m in result.matches]
    assert codes == [
        (MATCHED, "330782003210"),
        (MATCHED, "371721121227"),
        (MATCHED, "320509102201"),
        (MATCHED, "110111115201"),
    ]
    methods = [m.method for m in result.matches]
    assert methods == [
        "village:key",
        "township:key village:key",  # 大集镇 = 曹县大集镇 without the county's name
        "county:key village:key",  # 吴江市 became 吴江区
        "province:key prefecture:municipality village:key",  # 北京市 for the table's 市辖区
    ]
    assert result.matches[0].path == ("浙江省", "金华市", "义乌市", "稠江街道", "前仓村委会")
    assert result.match_rate == 1


def test_village_name_prefixed_with_its_township(reconcile):
    match = only(reconcile("山东省,菏泽市,曹县,大集镇,东北街村"))
    assert (match.status, match.code) == (MATCHED, "371721121228")


def test_the_kind_the_list_names_picks_between_a_village_and_a_community(reconcile):
    village, community = reconcile(
        "浙江省,金华市,义乌市,稠江街道,灶美村", "浙江省,金华市,义乌市,稠江街道,灶美社区"
    ).matches
    assert (village.code, village.method) == ("330782003212", "village:key+kind")
    assert (community.code, community.method) == ("330782003001", "village:key+kind")


def test_two_villages_with_one_normalised_name_are_ambiguous(reconcile):
    match = only(reconcile("浙江省,金华市,义乌市,稠江街道,东村"))
    assert match.status == AMBIGUOUS
    assert match.reason == SEVERAL_VILLAGES
    assert match.candidates == ("330782003213", "330782003214")
    assert match.code == ""
    assert "东村村委会" in match.message and "东村村民委员会" in match.message


def test_a_village_split_in_the_table_is_ambiguous(reconcile):
    match = only(reconcile("浙江省,金华市,义乌市,稠江街道,华西村"))
    assert (match.status, match.reason) == (AMBIGUOUS, SPLIT_VILLAGE)
    assert match.candidates == ("330782003218", "330782003219")


def test_interchangeable_characters_and_typos(reconcile):
    variant, typo, surname = reconcile(
        "浙江省,金华市,义乌市,稠江街道,横板村",
        "浙江省,金华市,义乌市,稠江街道,广圣殿村",
        "浙江省,金华市,义乌市,稠江街道,青岩刘村",
    ).matches
    assert (variant.code, variant.method) == ("330782003215", "village:variant")
    assert (typo.code, typo.method) == ("330782003216", "village:typo")
    assert surname.status == UNMATCHED  # 青岩刘 is not 青岩傅
    assert surname.reason == NO_VILLAGE


def test_a_village_in_another_township_of_its_county_if_its_name_is_distinctive(reconcile):
    distinctive, common = reconcile(
        "浙江省,金华市,义乌市,稠江街道,鲇溪村",  # in 后宅街道, the only 鲇溪 of 金华市
        "浙江省,金华市,义乌市,江东街道,新村",  # one 新村 in 义乌, another in 东阳
    ).matches
    assert (distinctive.status, distinctive.code) == (MATCHED, "330782005220")
    assert distinctive.method == "village:key+in-county"
    assert (common.status, common.reason) == (AMBIGUOUS, COMMON_NAME)
    assert common.candidates == ("330782003211",)


def test_other_rows_of_a_township_are_evidence_for_a_common_name(reconcile):
    evidence, common = reconcile(
        "浙江省,金华市,义乌市,江东街道,鲇溪村",  # matched into 后宅街道
        "浙江省,金华市,义乌市,江东街道,塘下村",  # 塘下 is common, but also in 后宅街道
    ).matches
    assert (evidence.status, evidence.code) == (MATCHED, "330782005220")
    assert (common.status, common.code) == (MATCHED, "330782005221")
    assert common.method == "village:key+in-county+township-evidence"
    assert "2" in common.message  # names the line that gave the evidence


def test_numbers_written_another_way(reconcile):
    formal, ambiguous = reconcile(
        "浙江省,台州市,天台县,坦头镇,伍佰村",  # 五百村委会
        "浙江省,台州市,天台县,白鹤镇,壹百村",  # 一百 and 壹佰 are both 一百
    ).matches
    assert (formal.status, formal.code, formal.method) == (
        MATCHED,
        "331023106205",
        "village:numeral",
    )
    assert (ambiguous.status, ambiguous.reason) == (AMBIGUOUS, SEVERAL_VILLAGES)
    assert ambiguous.candidates == ("331023101390", "331023101391")


def test_a_row_naming_the_village_plainly_keeps_it_from_a_numeral_spelling(reconcile):
    # The 2016 list names 坦头镇's 五百村 twice, once as 伍佰村.
    plain, formal = reconcile(
        "浙江省,台州市,天台县,坦头镇,五百村", "浙江省,台州市,天台县,坦头镇,伍佰村"
    ).matches
    assert (plain.status, plain.code) == (MATCHED, "331023106205")
    assert (formal.status, formal.reason) == (AMBIGUOUS, CLAIMED)


def test_a_village_prefixed_with_part_of_its_township_name(reconcile):
    # 张大庄镇 writes 大庄刘庄 (and 张大庄沈庄); 宁津县 has two other 刘庄, elsewhere.
    part, ambiguous = reconcile(
        "山东省,德州市,宁津县,张大庄镇,刘庄村",
        "山东省,德州市,宁津县,张大庄镇,魏庄村",  # 大庄魏庄 and 张大魏庄
    ).matches
    assert (part.status, part.code, part.method) == (
        MATCHED,
        "371422109244",
        "village:township-part",
    )
    assert (ambiguous.status, ambiguous.reason) == (AMBIGUOUS, SEVERAL_VILLAGES)
    assert ambiguous.candidates == ("371422109231", "371422109290")


def test_a_contracted_name_in_its_own_township(reconcile):
    contracted, two, generic, elsewhere = reconcile(
        "山东省,滨州市,博兴县,兴福镇,兴四村",  # 兴福四村
        "山东省,滨州市,博兴县,兴福镇,兴一村",  # 兴福一村 and 兴和一村
        "山东省,滨州市,博兴县,兴福镇,王庄村",  # 王家庄 is another village
        "山东省,滨州市,博兴县,兴福镇,孟屯村",  # 孟官屯 is in 陈户镇, not here
    ).matches
    assert (contracted.status, contracted.code, contracted.method) == (
        MATCHED,
        "371625102203",
        "village:contraction",
    )
    assert (two.status, two.reason) == (AMBIGUOUS, SEVERAL_VILLAGES)
    assert two.candidates == ("371625102200", "371625102290")
    assert "contraction" in two.message and "兴和一村村委会" in two.message
    assert (generic.status, generic.reason) == (UNMATCHED, NO_VILLAGE)
    assert (elsewhere.status, elsewhere.reason) == (UNMATCHED, NO_VILLAGE)


def test_a_direction_written_after_the_name(reconcile):
    moved, east, other_kind = reconcile(
        "山东省,临沂市,临沭县,青云镇,白旄西居",  # 西白旄居委会
        "山东省,临沂市,临沭县,青云镇,白旄东村",  # 东白旄村村委会
        "山东省,临沂市,临沭县,青云镇,白旄西村",  # a 村, but 西白旄 is a 居委会
    ).matches
    assert (moved.status, moved.code, moved.method) == (
        MATCHED,
        "371329108009",
        "village:direction",
    )
    assert (east.status, east.code) == (MATCHED, "371329108273")
    assert (other_kind.status, other_kind.reason) == (UNMATCHED, NO_VILLAGE)


def test_a_village_merged_under_a_new_village_name(reconcile):
    merged, community = reconcile(
        "浙江省,绍兴市,诸暨市,大唐镇,路西村",  # 路西新村委会
        "浙江省,绍兴市,诸暨市,大唐镇,长乐村",  # 长乐新村 is a residents' committee
    ).matches
    assert (merged.status, merged.code, merged.method) == (
        MATCHED,
        "330681101240",
        "village:new-village",
    )
    assert (community.status, community.reason) == (UNMATCHED, NO_VILLAGE)


def test_interchangeable_characters_with_another_reading(reconcile):
    match = only(reconcile("浙江省,台州市,天台县,白鹤镇,鹤栖新村"))
    assert (match.status, match.code, match.method) == (MATCHED, "331023101363", "village:variant")


def test_a_village_split_into_numbered_parts_without_its_cun(reconcile):
    match = only(reconcile("浙江省,金华市,义乌市,稠江街道,杨村"))
    assert (match.status, match.reason) == (AMBIGUOUS, SPLIT_VILLAGE)
    assert match.candidates == ("330782003006", "330782003007", "330782003008")


def test_near_forms_are_tried_in_order():
    assert [rule for rule, _ in NEAR_FORMS] == ["contraction", "direction", "new-village"]


def test_a_township_moved_to_another_district(reconcile):
    # 奔牛镇 moved from 武进区 to 新北区 in 2015; the list still names 武进区.
    match = only(reconcile("江苏省,常州市,武进区,奔牛镇,东桥村"))
    assert (match.status, match.code) == (MATCHED, "320411101201")
    assert match.method == "township:other-county village:key"


def test_a_county_not_in_the_table_is_bridged_by_a_unique_township(reconcile):
    match = only(reconcile("山东省,菏泽市,高新区,大集镇,丁楼村"))
    assert (match.status, match.code) == (MATCHED, "371721121227")
    assert match.method == "county:not-found township:other-county village:key"


def test_unmatched_rows_say_why(reconcile):
    result = reconcile(
        "广东省,广州市,白云区,太和镇,东平村",
        "浙江省,金华市,兰溪市,游埠镇,洋港村",
        "浙江省,金华市,义乌市,北苑街道,雪峰村",
        "浙江省,金华市,义乌市,稠江街道,雪峰村",
        "浙江省,,,,",
    )
    assert [(m.status, m.reason) for m in result.matches] == [
        (UNMATCHED, NO_PROVINCE),
        (UNMATCHED, NO_COUNTY),
        (UNMATCHED, NO_TOWNSHIP),
        (UNMATCHED, NO_VILLAGE),
        (UNMATCHED, MISSING_NAMES),
    ]
    assert "北苑街道" in result.matches[2].message and "义乌市" in result.matches[2].message
    assert result.matches[3].message == "no village 雪峰村 in 稠江街道"
    assert result.reasons[NO_PROVINCE] == 1 and result.unmatched == 5


def test_rows_claiming_one_village(reconcile):
    result = reconcile(
        "浙江省,金华市,义乌市,稠江街道,横坂村",
        "浙江省,金华市,义乌市,稠江街道,横板村",  # the same village, by a weaker rule
        "浙江省,金华市,义乌市,稠江街道,前仓村",
        "浙江省,金华市,义乌市,稠江街道,前仓",  # a repeated row
    )
    exact, weaker, first, repeated = result.matches
    assert (exact.status, exact.code) == (MATCHED, "330782003215")
    assert (weaker.status, weaker.reason) == (AMBIGUOUS, CLAIMED)
    assert weaker.candidates == ("330782003215",) and "2" in weaker.message
    assert (first.status, first.duplicate_of) == (MATCHED, None)
    assert (repeated.status, repeated.code, repeated.duplicate_of) == (
        MATCHED,
        "330782003210",
        4,
    )


# --- the list file and the report -----------------------------------------------------------


def test_report_has_one_row_per_list_row(divisions, tmp_path):
    path = write_csv(
        tmp_path / "list-2014.csv",
        ["province", "prefecture", "county", "township", "village", "main_product"],
        [
            ["浙江省", "金华市", "义乌市", "稠江街道", "前仓村", "袜子"],
            ["浙江省", "金华市", "义乌市", "稠江街道", "东村", "饰品"],
        ],
    )
    report = tmp_path / "report.csv"
    result = published_list_reconcile(path=path, divisions_path=divisions, report_path=report)
    assert result.rows == 2
    with report.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == [
        "line",
        "province",
        "prefecture",
        "county",
        "township",
        "village",
        "main_product",
        "status",
        "code",
        "matched_path",
        "method",
        "reason",
        "candidates",
        "duplicate_of",
        "message",
    ]
    assert rows[0]["line"] == "2" and rows[0]["main_product"] == "袜子"
    assert rows[0]["matched_path"] == "浙江省 / 金华市 / 义乌市 / 稠江街道 / 前仓村委会"
    assert rows[1]["status"] == AMBIGUOUS
    assert rows[1]["candidates"] == "330782003213;330782003214"


def test_chinese_headers_and_gzip(divisions, tmp_path):
    import gzip

    path = tmp_path / "list.csv.gz"
    path.write_bytes(
        gzip.compress("省,市,县,乡镇,村\n浙江省,金华市,义乌市,稠江街道,前仓村\n".encode())
    )
    result = published_list_reconcile(path=path, divisions_path=divisions)
    assert only(result).code == "330782003210"


@pytest.mark.parametrize(
    ("content", "line", "field", "reason"),
    [
        (b"province,county,village\n", 1, "prefecture", "required column missing"),
        ("省,市,县,乡镇,村\n浙江省,金华市\n".encode(), 2, "row", "expected 5 fields"),
        (
            b"province,prefecture,county,township,village\n"
            + "浙江省,金华市,义乌市,稠江,前仓\n".encode("gbk"),
            2,
            "file",
            "UTF-8",
        ),
        (b"province,prefecture,county,township,village\n", 1, "file", "no data rows"),
        (b"PK\x03\x04rest-of-a-workbook", 1, "file", "zip file"),
    ],
)
def test_bad_list_files_are_rejected_with_line_and_field(
    divisions, tmp_path, content, line, field, reason
):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ImportRejected) as caught:
        published_list_reconcile(path=path, divisions_path=divisions)
    (error,) = caught.value.errors[:1]
    assert (error.line, error.field) == (line, field)
    assert reason in error.reason
    assert "nothing was matched" in caught.value.message


def test_missing_files_and_bad_outputs(db, tmp_path):
    with pytest.raises(ValidationError) as caught:
        published_list_reconcile(path=tmp_path / "none.csv")
    assert caught.value.field == "file"
    listed = write_csv(tmp_path / "l.csv", ["省", "市", "县", "乡镇", "村"], [["浙江省"] * 5])
    with pytest.raises(ValidationError) as caught:
        published_list_reconcile(path=listed, divisions_path=tmp_path / "none.csv.gz")
    assert caught.value.field == "divisions"
    with pytest.raises(ValidationError) as caught:
        published_list_reconcile(path=listed, report_path=tmp_path / "no-such-dir" / "r.csv")
    assert caught.value.field == "report"
    with pytest.raises(ValidationError) as caught:
        published_list_reconcile(path=listed, unlisted_path=tmp_path / "u.csv")
    assert caught.value.field == "unlisted"  # needs an evaluation


def test_divisions_file_without_the_columns_is_refused(db, tmp_path):
    listed = write_csv(tmp_path / "l.csv", ["省", "市", "县", "乡镇", "村"], [["浙江省"] * 5])
    bad = write_csv(tmp_path / "d.csv", ["code", "name"], [["330000000000", "浙江省"]])
    with pytest.raises(ValidationError) as caught:
        published_list_reconcile(path=listed, divisions_path=bad)
    assert "level" in caught.value.message and caught.value.location.endswith(":1")


def test_the_file_index_keeps_only_the_provinces_asked_for(tmp_path):
    shuffled = list(TREE)
    random.Random(7).shuffle(shuffled)  # children before their province and parents
    path = write_csv(
        tmp_path / "d.csv", ["code", "name", "level", "parent_code"], [list(r) for r in shuffled]
    )
    index = index_from_file(path=path, province_names=["山东", "北京市"])
    assert {node.name for node in index.provinces} == {"山东省", "北京市"}
    assert len(index) == sum(code[:2] in {"37", "11"} for code, *_ in TREE)
    assert index.get("371721121227").path()[0].name == "山东省"
    rows = [ListRow(2, "山东", "菏泽", "曹县", "大集", "丁楼")]
    assert reconcile_rows(index, rows)[0].code == "371721121227"


# --- agreement with an evaluation -----------------------------------------------------------


@pytest.fixture
def evaluation(divisions):
    if divisions is not None:  # results point at divisions of the platform database
        store_tree()
    evaluation = EvaluationFactory(rule_set="aliresearch-2016", cutoff=date(2016, 8, 31))
    for code, labeled in [
        ("330782003210", True),  # 前仓: listed, labelled
        ("110111115201", True),  # 阎仙垡: listed, labelled
        ("371721121227", False),  # 丁楼: listed, not labelled
        ("330782005219", True),  # 李祖: labelled, not listed
        ("330782002201", False),  # 下王: neither
    ]:
        VillageResultFactory(
            evaluation=evaluation, village=Division.objects.get(code=code), labeled=labeled
        )
    return evaluation


AGREEMENT_LIST = (
    "浙江省,金华市,义乌市,稠江街道,前仓村",
    "北京,北京市,房山区,长阳镇,阎仙垡村",
    "山东省,菏泽市,曹县,大集镇,丁楼村",
    "江苏省,苏州市,吴江市,盛泽镇,黄家溪村",  # not evaluated
    "浙江省,金华市,义乌市,稠江街道,东村",  # ambiguous: not compared
)


def test_precision_and_recall_against_an_evaluation(reconcile, evaluation, tmp_path):
    unlisted = tmp_path / "unlisted.csv"
    result = reconcile(*AGREEMENT_LIST, evaluation_id=evaluation.pk, unlisted_path=unlisted)
    agreement = result.agreement
    assert (agreement.listed, agreement.evaluated, agreement.not_evaluated) == (4, 3, 1)
    assert agreement.unresolved_rows == 1
    assert agreement.labeled == 3
    assert (agreement.true_positives, agreement.false_positives) == (2, 1)
    assert agreement.false_negatives == 2  # 丁楼 (not labelled), 黄家溪 (not evaluated)
    assert agreement.precision == pytest.approx(2 / 3)
    assert agreement.recall == pytest.approx(2 / 4)
    assert unlisted.read_bytes().decode() == "code,name\r\n330782005219,李祖村委会\r\n"


def test_agreement_needs_a_finished_evaluation(reconcile, db):
    with pytest.raises(NotFound):
        reconcile(*AGREEMENT_LIST, evaluation_id=999_999)
    running = EvaluationFactory(status=EvaluationStatus.RUNNING)
    with pytest.raises(Conflict) as caught:
        reconcile(*AGREEMENT_LIST, evaluation_id=running.pk)
    assert caught.value.field == "evaluation"


# --- the command ---------------------------------------------------------------------------


def test_command_summary_report_and_agreement(divisions, evaluation, tmp_path):
    listed = write_csv(
        tmp_path / "list.csv",
        ["province", "prefecture", "county", "township", "village"],
        [row.split(",") for row in AGREEMENT_LIST],
    )
    report = tmp_path / "out" / "report.csv"
    report.parent.mkdir()
    out = io.StringIO()
    arguments = [str(listed), "--report", str(report), "--no-progress"]
    arguments += ["--evaluation", str(evaluation.pk)]
    if divisions is not None:
        arguments += ["--divisions", str(divisions)]
    call_command("labels_reconcile", *arguments, stdout=out)
    text = out.getvalue()
    assert "5 rows — 4 matched (80.0 %), 1 ambiguous, 0 unmatched" in text
    assert "precision 66.7 %, recall 50.0 %" in text
    assert "line 6:" in text  # the ambiguous row is shown
    with report.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["labeled"] for row in rows] == ["true", "true", "false", "", ""]


def test_command_through_labels_and_report_on_stdout(divisions, tmp_path):
    listed = write_csv(
        tmp_path / "list.csv",
        ["province", "prefecture", "county", "township", "village"],
        [["浙江省", "金华市", "义乌市", "稠江街道", "前仓村"]],
    )
    out, err = io.StringIO(), io.StringIO()
    arguments = ["reconcile", str(listed), "--report", "-", "--no-progress"]
    if divisions is not None:
        arguments += ["--divisions", str(divisions)]
    call_command("labels", *arguments, stdout=out, stderr=err)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows[0]["code"] == "330782003210"
    assert "1 matched (100.0 %)" in err.getvalue()


def test_command_errors_are_clean(db, tmp_path):
    with pytest.raises(CommandError) as caught:
        call_command("labels_reconcile", str(tmp_path / "none.csv"), "--no-progress")
    assert caught.value.returncode == 2
    assert "no such file" in str(caught.value)


# --- the real 2016 list against the national table -----------------------------------------


def _names_agree(match, index) -> bool:
    """The check applied to every match of the real list: the list's village and the
    matched village agree after normalisation, or through the rule the method names."""
    village = index.get(match.code)
    key = names.village_key(match.row.village)
    if key in village.keys:
        return True
    rule = match.method.rsplit(" ", 1)[-1].removeprefix("village:").split("+")[0]
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


@pytest.mark.skipif(
    not NATIONAL_FILE.is_file(), reason=f"the national divisions file is not at {NATIONAL_FILE}"
)
def test_real_2016_list_against_the_national_table():
    rows = read_list(SHARED_DATA / "taobao-villages-2016.csv")
    index = index_from_file(path=NATIONAL_FILE, province_names={row.province for row in rows})
    matches = reconcile_rows(index, rows)
    matched = [m for m in matches if m.status == MATCHED]
    assert len(rows) == 1311
    # 1,224 rows are matched; the others name villages the 2016 table does not have under a
    # name that stays unique (see docs/reconcile.md). The floor guards against regressions.
    assert len(matched) >= 1224
    for match in matched:
        path = index.get(match.code).path()
        levels = [node.level for node in path]
        assert levels == ["province", "prefecture", "county", "township", "village"]
        assert names.province_key(match.row.province) in path[0].keys
        assert _names_agree(match, index), match
    repeated = sum(m.duplicate_of is not None for m in matched)
    assert len({m.code for m in matched}) == len(matched) - repeated

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
    NO_COUNTY,
    NO_PROVINCE,
    NO_TOWNSHIP,
    NO_VILLAGE,
    SEVERAL_VILLAGES,
    SPLIT_VILLAGE,
    UNMATCHED,
    ListRow,
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
    assert len(index) == 6 + 5
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
    if "variant" in match.method:
        return names.interchangeable_form(key) in village.variant_keys
    if "typo" in match.method:
        return any(is_typo(key, other) for other in village.keys)
    return False


@pytest.mark.skipif(
    not NATIONAL_FILE.is_file(), reason=f"the national divisions file is not at {NATIONAL_FILE}"
)
def test_real_2016_list_against_the_national_table():
    rows = read_list(SHARED_DATA / "taobao-villages-2016.csv")
    index = index_from_file(path=NATIONAL_FILE, province_names={row.province for row in rows})
    matches = reconcile_rows(index, rows)
    matched = [m for m in matches if m.status == MATCHED]
    assert len(rows) == 1311
    # 1,216 rows are matched; the others name villages the 2016 table does not have under a
    # name that stays unique (see docs/reconcile.md). The floor guards against regressions.
    assert len(matched) / len(rows) >= 0.925
    for match in matched:
        path = index.get(match.code).path()
        levels = [node.level for node in path]
        assert levels == ["province", "prefecture", "county", "township", "village"]
        assert names.province_key(match.row.province) in path[0].keys
        assert _names_agree(match, index), match
    repeated = sum(m.duplicate_of is not None for m in matched)
    assert len({m.code for m in matched}) == len(matched) - repeated

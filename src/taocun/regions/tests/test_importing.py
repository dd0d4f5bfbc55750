"""The divisions import through its service, on the real database (SQLite or PostgreSQL)."""

import gzip
import itertools
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.utils import translation

from taocun.core.errors import ImportRejected, ValidationError
from taocun.core.models import AuditEntry
from taocun.regions.importing import divisions_import
from taocun.regions.models import Division
from taocun.regions.tests.factories import DivisionFactory

DATA_DIR = Path(__file__).parent / "data"
NATIONAL_FILE = (
    Path(__file__).resolve().parents[4].parent / "shared" / "data" / ("divisions-cn-2016.csv.gz")
)

HEADER = "code,name,level,parent_code,ur_code,households,lat,lon,poverty,poverty_exit_year\n"
# Real codes and names (NBS 2016): Zhejiang › Jinhua › Yiwu › Choujiang › two villages.
GOOD_ROWS = (
    "330000000000,浙江省,province,,,,30.266597,120.152585,,\n"
    "330700000000,金华市,prefecture,330000000000,,,29.079059,119.647445,,\n"
    "330782000000,义乌市,county,330700000000,,,29.306863,120.075058,provincial,2015\n"
    "330782003000,稠江街道,township,330782000000,,,29.286059,120.038841,,\n"
    "330782003210,前仓村委会,village,330782003000,220,1500,,,,\n"
    "330782003211,杨村村委会,village,330782003000,220,,,,,\n"
)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def write(tmp_path):
    """Write text (or bytes) to a file in tmp_path and return its path."""
    counter = itertools.count()

    def make(content: str | bytes, name: str | None = None) -> Path:
        path = tmp_path / (name or f"divisions-{next(counter)}.csv")
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    return make


def snapshot() -> list[tuple]:
    return list(Division.objects.order_by("code").values_list())


def rejected(path: Path, **kwargs) -> ImportRejected:
    before = snapshot()
    with pytest.raises(ImportRejected) as info:
        divisions_import(path=path, **kwargs)
    assert snapshot() == before, "a rejected file must change nothing"
    assert not AuditEntry.objects.filter(action="regions.divisions_import").exists()
    return info.value


def where(error: ImportRejected) -> list[tuple[int, str]]:
    return [(row.line, row.field) for row in error.errors]


def test_a_good_file_is_imported_with_every_column(db, write):
    summary = divisions_import(path=write(HEADER + GOOD_ROWS))
    assert (summary.rows, summary.inserted, summary.updated, summary.unchanged) == (6, 6, 0, 0)
    yiwu = Division.objects.get(code="330782000000")
    assert (yiwu.name, yiwu.level, yiwu.parent_id) == ("义乌市", "county", "330700000000")
    assert (yiwu.poverty, yiwu.poverty_exit_year, yiwu.lat) == ("provincial", 2015, 29.306863)
    village = Division.objects.get(code="330782003210")
    assert (village.ur_code, village.households, village.lat) == ("220", 1500, None)
    assert not Division.objects.filter(demo_invented=True).exists()
    assert Division.objects.get(code="330000000000").parent_id is None


def test_importing_the_same_file_twice_changes_nothing(db, write):
    path = write(HEADER + GOOD_ROWS)
    divisions_import(path=path)
    before = snapshot()
    again = divisions_import(path=path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 6)
    assert snapshot() == before


def test_a_changed_row_is_updated_and_the_rest_left_alone(db, write):
    divisions_import(path=write(HEADER + GOOD_ROWS))
    changed = GOOD_ROWS.replace(
        "杨村村委会,village,330782003000,220,,", "杨村,village,330782003000,220,88,"
    )
    summary = divisions_import(path=write(HEADER + changed))
    assert (summary.inserted, summary.updated, summary.unchanged) == (0, 1, 5)
    village = Division.objects.get(code="330782003211")
    assert (village.name, village.households) == ("杨村", 88)


def test_columns_missing_from_the_file_are_left_alone(db, write):
    divisions_import(path=write(HEADER + GOOD_ROWS))
    summary = divisions_import(
        path=write("code,name,level,parent_code\n330782003210,前仓村,village,330782003000\n")
    )
    assert (summary.updated, summary.unchanged) == (1, 0)
    village = Division.objects.get(code="330782003210")
    assert (village.name, village.households, village.ur_code) == ("前仓村", 1500, "220")


def test_real_households_clear_the_demo_flag(tree, write):
    Division.objects.filter(code=tree.lizu.code).update(demo_invented=True, households=999)
    summary = divisions_import(
        path=write(
            "code,name,level,parent_code,households\n330782005219,李祖村委会,village,330782005000,320\n"
        )
    )
    assert summary.updated == 1
    lizu = Division.objects.get(code=tree.lizu.code)
    assert (lizu.households, lizu.demo_invented) == (320, False)


def test_the_demo_invented_column_sets_the_flag(tree, write):
    Division.objects.filter(code=tree.lizu.code).update(demo_invented=True)
    summary = divisions_import(
        path=write(
            "code,name,level,parent_code,households,demo_invented\n"
            "330782005219,李祖村委会,village,330782005000,320,false\n"
            "330782003210,前仓村委会,village,330782003000,640,TRUE\n"
            "330782003213,新村,village,330782003000,80,\n"
            "330782003214,又一村,village,330782003000,90,true\n"
        )
    )
    assert (summary.inserted, summary.updated) == (2, 2)
    flags = dict(Division.objects.filter(level="village").values_list("code", "demo_invented"))
    assert flags == {
        "330782003210": True,
        "330782003213": False,
        "330782003214": True,
        "330782005219": False,
        "371721121227": False,
    }


def test_a_file_without_the_demo_column_never_sets_the_flag(db, write):
    divisions_import(path=write(HEADER + GOOD_ROWS))
    assert not Division.objects.filter(demo_invented=True).exists()


def test_parents_may_come_from_the_database(tree, write):
    summary = divisions_import(
        path=write(
            "code,name,level,parent_code,ur_code\n330782003212,新村,village,330782003000,220\n"
        )
    )
    assert summary.inserted == 1
    assert Division.objects.get(code="330782003212").parent_id == tree.choujiang.code


def test_one_audit_entry_per_import(db, write):
    divisions_import(path=write(HEADER + GOOD_ROWS, "zhejiang.csv"), actor="cli")
    entry = AuditEntry.objects.get(action="regions.divisions_import")
    assert entry.actor_label == "cli"
    assert entry.object_id == "zhejiang.csv"
    assert (entry.after["rows"], entry.after["inserted"]) == (6, 6)


def test_a_dry_run_counts_but_writes_nothing(db, write):
    summary = divisions_import(path=write(HEADER + GOOD_ROWS), dry_run=True)
    assert (summary.inserted, summary.dry_run) == (6, True)
    assert not Division.objects.exists()
    assert not AuditEntry.objects.exists()


def test_the_nbs_anomaly_is_a_township(db, write):
    divisions_import(
        path=write(
            "code,name,level,parent_code\n"
            "650000000000,新疆维吾尔自治区,province,\n"
            "653100000000,喀什地区,prefecture,650000000000\n"
            "653130000000,巴楚县,county,653100000000\n"
            "653130103001,三岔口镇,township,653130000000\n"
            "653130103498,振兴路虚拟社区,village,653130103001\n"
        )
    )
    assert Division.objects.get(code="653130103001").level == "township"


# --- bad rows: each leaves the database unchanged and names line and field -----------------

REQUIRED = "code,name,level,parent_code\n"


@pytest.mark.parametrize(
    ("content", "expected", "reason"),
    [
        pytest.param(
            REQUIRED + "33000000000,浙江省,province,\n", [(2, "code")], "12-digit", id="short code"
        ),
        pytest.param(
            REQUIRED + "3300000000AB,浙江省,province,\n",
            [(2, "code")],
            "12-digit",
            id="letters in code",
        ),
        pytest.param(
            REQUIRED + "330000000000,浙江省,county,\n",
            [(2, "level")],
            "province code",
            id="wrong level for the code",
        ),
        pytest.param(
            REQUIRED + "330000000000,浙江省,state,\n",
            [(2, "level")],
            "unknown level",
            id="unknown level",
        ),
        pytest.param(
            REQUIRED + "330000000000,,province,\n", [(2, "name")], "required", id="empty name"
        ),
        pytest.param(
            REQUIRED + "330000000000,浙江省,province,110000000000\n",
            [(2, "parent_code")],
            "no parent",
            id="province with a parent",
        ),
        pytest.param(
            REQUIRED + "330700000000,金华市,prefecture,\n",
            [(2, "parent_code")],
            "needs a parent",
            id="missing parent",
        ),
        pytest.param(
            REQUIRED + "330000000000,浙江省,province,\n"
            "330700000000,金华市,prefecture,320000000000\n",
            [(3, "parent_code")],
            "prefix",
            id="inconsistent parent",
        ),
        pytest.param(
            REQUIRED + "330782003000,稠江街道,township,330782003210\n",
            [(2, "parent_code")],
            "not above",
            id="parent below the child",
        ),
        pytest.param(
            REQUIRED + "320500000000,苏州市,prefecture,320000000000\n",
            [(2, "parent_code")],
            "neither in the file nor in the database",
            id="parent in neither file nor database",
        ),
        pytest.param(
            REQUIRED + "330000000000,浙江省,province,\n"
            "320000000000,江苏省,province,\n330000000000,浙江,province,\n",
            [(4, "code")],
            "also on line 2",
            id="duplicate code",
        ),
        pytest.param(
            REQUIRED + "330000000000,浙江省,province\n",
            [(2, "row")],
            "expected 4 fields, found 3",
            id="too few fields",
        ),
        pytest.param(
            "code,name,level,parent_code,ur_code\n330000000000,浙江省,province,,320\n",
            [(2, "ur_code")],
            "1xx",
            id="bad ur_code",
        ),
        pytest.param(
            "code,name,level,parent_code,households\n330000000000,浙江省,province,,-3\n",
            [(2, "households")],
            "whole number",
            id="negative households",
        ),
        pytest.param(
            "code,name,level,parent_code,households\n330000000000,浙江省,province,,many\n",
            [(2, "households")],
            "whole number",
            id="households not a number",
        ),
        pytest.param(
            "code,name,level,parent_code,lat,lon\n330000000000,浙江省,province,,91,120\n",
            [(2, "lat")],
            "between -90 and 90",
            id="latitude out of range",
        ),
        pytest.param(
            "code,name,level,parent_code,lat,lon\n330000000000,浙江省,province,,30,east\n",
            [(2, "lon")],
            "between -180 and 180",
            id="longitude not a number",
        ),
        pytest.param(
            "code,name,level,parent_code,lat,lon\n330000000000,浙江省,province,,30,\n",
            [(2, "lon")],
            "both or neither",
            id="half a coordinate",
        ),
        pytest.param(
            "code,name,level,parent_code,poverty\n330000000000,浙江省,province,,national\n",
            [(2, "poverty")],
            "only counties",
            id="poverty on a province",
        ),
        pytest.param(
            "code,name,level,parent_code,poverty\n330000000000,浙江省,province,,very\n",
            [(2, "poverty")],
            "national, provincial",
            id="unknown poverty",
        ),
        pytest.param(
            "code,name,level,parent_code,poverty,poverty_exit_year\n"
            "330000000000,浙江省,province,,,2019\n",
            [(2, "poverty_exit_year")],
            "only a poverty county",
            id="exit without poverty",
        ),
        pytest.param(
            "code,name,level,parent_code,poverty,poverty_exit_year\n"
            "330000000000,浙江省,province,,,1900\n",
            [(2, "poverty_exit_year")],
            "between 1980 and 2100",
            id="implausible year",
        ),
        pytest.param(
            "code,name,level\n330000000000,浙江省,province\n",
            [(1, "parent_code")],
            "required column missing",
            id="missing column",
        ),
        pytest.param(
            REQUIRED.replace("\n", ",remark\n") + "330000000000,浙江省,province,,x\n",
            [(1, "remark")],
            "unknown column",
            id="unknown column",
        ),
        pytest.param(
            "code,name,level,parent_code,lat\n",
            [(1, "lon")],
            "come together",
            id="lat without lon column",
        ),
        pytest.param(
            "code,name,level,parent_code,poverty_exit_year\n",
            [(1, "poverty")],
            "needs the poverty column",
            id="exit year without poverty column",
        ),
        pytest.param("", [(1, "file")], "empty", id="empty file"),
        pytest.param(REQUIRED, [(1, "file")], "no data rows", id="header only"),
        pytest.param(b"PK\x03\x04garbage", [(1, "file")], "zip file", id="excel workbook"),
        pytest.param(
            b"\x00\x01\x02\x03binary\x00", [(1, "file")], "binary data", id="binary garbage"
        ),
        pytest.param(
            "\ufeffcode,name,level,parent_code\n330000000000,浙江省,province,\n".encode("utf-16"),
            [(1, "file")],
            "UTF-16",
            id="utf-16 with a byte-order mark",
        ),
        pytest.param(
            "code,name,level,parent_code\n330000000000,浙江省,province,\n".encode("utf-16-le"),
            [(1, "file")],
            "UTF-16",
            id="utf-16 without a byte-order mark",
        ),
        pytest.param(
            REQUIRED
            + "330000000000,浙江省,province,\n330700000000,金\x00华市,prefecture,330000000000\n",
            [(3, "name")],
            "NUL character",
            id="one NUL in a name",
        ),
        pytest.param(
            REQUIRED
            + "330000000000,浙江省,province,\n"
            + "3307000000,x,prefecture,\n" * 60
            + "330782000000,义乌\x00,county,330700000000\n",
            [(3 + n, "code") for n in range(60)] + [(63, "name")],
            "not a 12-digit",
            id="a NUL past the first lines",
        ),
        pytest.param(
            "code,na\x00me,level,parent_code\n330000000000,浙江省,province,\n",
            [(1, "header")],
            "NUL character",
            id="a NUL in the header",
        ),
        pytest.param(
            "demo_invented," + REQUIRED + "yes,330000000000,浙江省,province,\n",
            [(2, "demo_invented")],
            "expected true, false or empty",
            id="demo flag not a boolean",
        ),
    ],
)
def test_a_bad_file_changes_nothing_and_says_where(tree, write, content, expected, reason):
    error = rejected(write(content))
    assert where(error) == expected
    assert reason in error.errors[0].reason


def test_rows_of_empty_fields_are_skipped_like_blank_lines(db, write):
    # Excel leaves ",,," lines (and quoted empty fields) after the data.
    summary = divisions_import(
        path=write(HEADER + GOOD_ROWS + ",,,,,,,,,\r\n\n" + '"","", ,,,,,,,\n' + ",,,,,,,,,\n")
    )
    assert (summary.rows, summary.inserted) == (6, 6)


def test_one_bad_row_rejects_the_good_ones_too(db, write):
    error = rejected(write(HEADER + GOOD_ROWS + "330782003299,坏村,township,330782003000,,,,,,\n"))
    assert where(error) == [(8, "level")]
    assert not Division.objects.exists()


def test_a_child_of_a_bad_row_is_not_blamed_for_its_parent(db, write):
    error = rejected(
        write(REQUIRED + "330000000000,,province,\n330700000000,金华市,prefecture,330000000000\n")
    )
    assert where(error) == [(2, "name")]


def test_a_database_parent_must_have_the_level_of_its_code(db, write):
    DivisionFactory(code="330000000000", name="浙江省", level="prefecture")
    error = rejected(write(REQUIRED + "330700000000,金华市,prefecture,330000000000\n"))
    assert where(error) == [(2, "parent_code")]
    assert "prefecture in the database" in error.errors[0].reason


def test_a_gbk_file_is_reported_line_by_line(db, write):
    content = (
        REQUIRED + "330000000000,浙江省,province,\n330700000000,金华市,prefecture,330000000000\n"
    ).encode("gbk")
    error = rejected(write(content))
    assert where(error) == [(2, "name"), (3, "name")]
    assert str(error.errors[0]) == (
        "line 2, field name: not valid UTF-8 (is the file GBK-encoded? save it as UTF-8)"
    )


def test_errors_stop_at_the_limit(db, write):
    rows = "".join(f"33{n:02d}00000000,坏,county,\n" for n in range(10, 40))
    error = rejected(write(REQUIRED + rows), max_errors=5)
    assert len(error.errors) == 5
    assert error.truncated
    assert "stopped at the error limit" in str(error)


def test_a_line_break_inside_quotes_keeps_line_numbers_right(db, write):
    content = REQUIRED + '330000000000,"浙江\n省",province,\n330700000000,x,county,\n'
    error = rejected(write(content))
    assert where(error) == [(4, "level")]


def test_a_file_that_does_not_exist(db, tmp_path):
    with pytest.raises(ValidationError):
        divisions_import(path=tmp_path / "missing.csv")


# --- formats ------------------------------------------------------------------------------


def test_gzip_is_recognised_by_its_bytes_not_its_name(db, write):
    summary = divisions_import(path=write(gzip.compress((HEADER + GOOD_ROWS).encode()), "a.csv"))
    assert summary.inserted == 6
    plain_named_gz = divisions_import(path=write(HEADER + GOOD_ROWS, "b.csv.gz"))
    assert plain_named_gz.unchanged == 6


def test_a_truncated_gzip_is_rejected(db, write):
    packed = gzip.compress((HEADER + GOOD_ROWS * 50).encode())
    error = rejected(write(packed[: len(packed) // 2], "broken.csv.gz"))
    assert error.errors[-1].field == "file"
    assert "gzip" in error.errors[-1].reason


def test_parquet_is_read_by_batches(db, write, tmp_path):
    path = tmp_path / "divisions.parquet"
    pq.write_table(
        pa.table(
            {
                "code": ["330000000000", "330700000000"],
                "name": ["浙江省", "金华市"],
                "level": ["province", "prefecture"],
                "parent_code": [None, "330000000000"],
                "lat": [30.266597, None],
                "lon": [120.152585, None],
                "households": pa.array([None, None], type=pa.int64()),
            }
        ),
        path,
    )
    summary = divisions_import(path=path)
    assert summary.inserted == 2
    assert Division.objects.get(code="330000000000").lat == 30.266597


def test_parquet_errors_are_numbered_like_csv_lines(db, tmp_path):
    path = tmp_path / "divisions.parquet"
    pq.write_table(
        pa.table(
            {
                "code": ["330000000000", "330700000000"],
                "name": ["浙江省", "金华市"],
                "level": ["province", "county"],
                "parent_code": [None, "330000000000"],
            }
        ),
        path,
    )
    assert where(rejected(path)) == [(3, "level")]


def test_garbage_after_the_parquet_magic_is_rejected(db, write):
    error = rejected(write(b"PAR1 this is not parquet", "fake.parquet"))
    assert where(error) == [(1, "file")]
    assert "Parquet" in error.errors[0].reason


def test_the_sample_file_imports(db):
    summary = divisions_import(path=DATA_DIR / "divisions-sample.csv")
    assert summary.rows == summary.inserted > 0


@pytest.mark.skipif(not NATIONAL_FILE.exists(), reason="the national file is not on this machine")
def test_a_slice_of_the_national_file_imports_and_reimports(db, tmp_path):
    """The first 5,000 rows (every province, prefecture and county, then townships) plus the
    NBS anomaly and its children, exactly as published."""
    with gzip.open(NATIONAL_FILE, "rt", encoding="utf-8", newline="") as national:
        header = next(national)
        lines = list(itertools.islice(national, 5000))
        anomaly = [line for line in national if line.startswith("653130103")]
    path = tmp_path / "slice.csv.gz"
    path.write_bytes(gzip.compress((header + "".join(lines + anomaly)).encode()))
    summary = divisions_import(path=path)
    assert summary.inserted == 5000 + len(anomaly)
    assert Division.objects.filter(level="county").count() == 3133
    assert divisions_import(path=path).unchanged == summary.inserted

"""The divisions export, and round trips through the import."""

import gzip
import io
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from django.utils import translation

from taocun.core.errors import NotFound, ValidationError
from taocun.regions.exporting import divisions_export
from taocun.regions.importing import divisions_import
from taocun.regions.models import Division

SAMPLE = Path(__file__).parent / "data" / "divisions-sample.csv"


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def sample(db):
    divisions_import(path=SAMPLE)


def wipe() -> None:
    # Children first: the parent link is PROTECT.
    for level in ("village", "township", "county", "prefecture", "province"):
        Division.objects.filter(level=level).delete()


def test_export_then_import_then_export_is_byte_identical(sample, tmp_path):
    first = tmp_path / "first.csv"
    divisions_export(path=first)
    wipe()
    divisions_import(path=first)
    second = tmp_path / "second.csv"
    divisions_export(path=second)
    assert first.read_bytes() == second.read_bytes()
    # The sample file is already in code order with every column: it comes back as it was.
    assert first.read_bytes() == SAMPLE.read_bytes()


def test_the_demo_flag_survives_a_round_trip(sample, tmp_path):
    # What the demo does: invent a households count and a poverty designation.
    Division.objects.filter(code="330782003210").update(households=640, demo_invented=True)
    Division.objects.filter(code="371721000000").update(demo_invented=True)
    before = list(Division.objects.values_list("code", "households", "poverty", "demo_invented"))
    for name in ("demo.csv", "demo.csv.gz", "demo.parquet"):
        path = tmp_path / name
        summary = divisions_export(path=path)
        assert summary.columns[-1] == "demo_invented"
        wipe()
        divisions_import(path=path)
        after = Division.objects.values_list("code", "households", "poverty", "demo_invented")
        assert list(after) == before, name
        # Importing it over the same rows again changes nothing either.
        assert divisions_import(path=path).unchanged == 12
    lines = (tmp_path / "demo.csv").read_text().splitlines()
    assert lines[0].endswith(",poverty,poverty_exit_year,demo_invented")
    assert lines[5].startswith("330782003210,") and lines[5].endswith(",true")
    assert lines[1].endswith(",false")


def test_floats_print_as_their_shortest_repr(sample):
    out = io.StringIO()
    divisions_export(path="-", stream=out, level="province")
    # Provinces carry coordinates only, so only those optional columns are written.
    assert out.getvalue().splitlines()[:2] == [
        "code,name,level,parent_code,lat,lon",
        "330000000000,浙江省,province,,30.266597,120.152585",
    ]


def test_unused_optional_columns_are_left_out(db, tmp_path):
    source = tmp_path / "plain.csv"
    source.write_text("code,name,level,parent_code\r\n330000000000,浙江省,province,\r\n")
    divisions_import(path=source)
    out = io.StringIO()
    summary = divisions_export(path="-", stream=out)
    assert summary.columns == ("code", "name", "level", "parent_code")
    assert out.getvalue().encode() == source.read_bytes()


def test_gzip_export_is_reproducible_and_round_trips(sample, tmp_path):
    first, again = tmp_path / "a.csv.gz", tmp_path / "b.csv.gz"
    divisions_export(path=first)
    divisions_export(path=again)
    assert first.read_bytes() == again.read_bytes()
    assert gzip.decompress(first.read_bytes()) == SAMPLE.read_bytes()
    assert divisions_import(path=first).unchanged == 12


def test_parquet_export_round_trips(sample, tmp_path):
    path = tmp_path / "divisions.parquet"
    assert divisions_export(path=path).rows == 12
    table = pq.read_table(path)
    assert table.column_names[:4] == ["code", "name", "level", "parent_code"]
    assert table.column("lat").type == "double"
    before = list(Division.objects.values_list())
    wipe()
    assert divisions_import(path=path).inserted == 12
    assert list(Division.objects.values_list()) == before


def test_filters_by_level_and_subtree(sample):
    out = io.StringIO()
    divisions_export(path="-", stream=out, under="330782000000", level="village")
    lines = out.getvalue().splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["330782003210", "330782005219"]
    out = io.StringIO()
    divisions_export(path="-", stream=out, under="371700000000")
    assert len(out.getvalue().splitlines()) == 1 + 4


def test_bad_filters_and_names_are_refused(sample, tmp_path):
    with pytest.raises(ValidationError):
        divisions_export(path=tmp_path / "x.xlsx")
    with pytest.raises(ValidationError):
        divisions_export(path="-", stream=io.StringIO(), level="hamlet")
    with pytest.raises(NotFound):
        divisions_export(path="-", stream=io.StringIO(), under="110000000000")
    assert list(tmp_path.iterdir()) == []

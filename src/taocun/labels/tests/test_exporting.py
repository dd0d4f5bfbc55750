"""The CSV writer of evaluations: Arrow's fast path and Python's ``csv`` module write the
same bytes, whole or by slices written in parallel, and texts that need quoting (a comma, a
quote, a line break) are quoted."""

import csv
import io

import pyarrow as pa
import pytest

from taocun.labels import exporting
from taocun.labels.exporting import _may_need_quotes, _write


def _python_csv(columns: dict[str, list]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in zip(*columns.values(), strict=True):
        cells = []
        for value in row:
            if value is None:
                cells.append("")
            elif isinstance(value, bool):
                cells.append("true" if value else "false")
            else:
                cells.append(value)
        writer.writerow(cells)
    return buffer.getvalue().encode()


@pytest.mark.parametrize(
    "names",
    [
        ["东风村", "西山村委会", ""],  # the fast path: nothing to quote
        ["东风村", "西山村, 北组", 'the "old" village'],
        ["line\nbreak", "carriage\rreturn", None],
    ],
)
@pytest.mark.parametrize("sliced", [False, True])
def test_written_bytes_match_the_csv_module(tmp_path, monkeypatch, names, sliced):
    if sliced:  # one row per slice, in three threads
        monkeypatch.setattr(exporting, "SLICE_ROWS", 1)
        monkeypatch.setattr(exporting.os, "cpu_count", lambda: 4)
        assert len(exporting._slices(pa.table({"a": [1, 2, 3]}))) == 3
    columns = {
        "code": ["110101001001", "110101001002", "110101001003"],
        "name": names,
        "households": [12, None, 0],
        "labeled": [True, False, None],
    }
    path = tmp_path / "villages.csv"
    source = pa.table({name: pa.array(values) for name, values in columns.items()})
    _write(path, source, lambda rows: {name: rows.column(name) for name in rows.column_names})
    assert path.read_bytes() == _python_csv(columns)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert [row[1] for row in rows[1:]] == [name or "" for name in names]


def test_quote_detection_looks_at_every_chunk_and_only_at_texts():
    assert _may_need_quotes(pa.chunked_array([["a", "b"], ["c,d"]]))
    assert _may_need_quotes(pa.chunked_array([['say "hi"']]))
    assert not _may_need_quotes(pa.chunked_array([["a", "b"], ["c"]]))
    assert not _may_need_quotes(pa.chunked_array([[1, 2]]))
    assert not _may_need_quotes(pa.chunked_array([[None]], type=pa.string()))


def test_an_empty_table_writes_the_header_only(tmp_path):
    path = tmp_path / "towns.csv"
    source = pa.table({"code": pa.array([], pa.string()), "sales": pa.array([], pa.int64())})
    _write(path, source, lambda rows: {"code": rows.column("code"), "sales": rows.column("sales")})
    assert path.read_bytes() == b"code,sales\r\n"

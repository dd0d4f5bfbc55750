"""The division tree the matcher walks: only the provinces a list needs, in memory.

The tree comes from the platform database (the ``regions.Division`` table) or from a
divisions file (CSV, gzipped CSV or Parquet in the divisions format of ``docs/formats.md``).
A published list touches a few provinces; the national file has 713,034 rows. So the index is
built in one streaming pass that keeps only the rows of the provinces whose names the list
uses, and each node holds only its code, name, level and links.

Rows are kept whatever order the file is in: a row whose province has not been seen yet waits
until its province row tells whether it is needed (in the usual code order, provinces come
first and nothing waits).
"""

import csv
import gzip
import io
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from django.utils.translation import gettext as _
from tqdm import tqdm

from taocun.core.commands import progress_bar
from taocun.core.errors import ValidationError
from taocun.labels.reconcile.names import (
    PLACEHOLDER_PREFECTURES,
    clean,
    county_key,
    interchangeable_form,
    numeral_form,
    prefecture_key,
    province_key,
    township_keys,
    township_parts,
    village_keys,
    village_kind,
)
from taocun.regions.codes import LEVEL_DEPTH, LEVELS, committee_kind, is_valid_code

DIVISION_COLUMNS = ("code", "name", "level", "parent_code")
LEVEL_NAMES = {level: level for level in LEVELS}
GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
PARQUET_BATCH_ROWS = 50_000
PROGRESS_EVERY_ROWS = 8_192


class DivisionNode:
    """One division: code, name, level, parent, children, and its match keys (computed once,
    on first use, since most nodes of a province are never looked at)."""

    __slots__ = (
        "_keys",
        "_kind",
        "_numeral_keys",
        "_variant_keys",
        "children",
        "code",
        "level",
        "name",
        "parent",
        "parent_code",
    )

    def __init__(self, code: str, name: str, level: str, parent_code: str) -> None:
        self.code = code
        self.name = name
        self.level = level
        self.parent_code = parent_code  # until the tree is linked
        self.parent: DivisionNode | None = None
        # Most nodes are villages without children: they share one empty tuple.
        self.children: list[DivisionNode] | tuple[()] = ()
        self._keys: frozenset[str] | None = None
        self._variant_keys: frozenset[str] | None = None
        self._numeral_keys: frozenset[str] | None = None
        self._kind: str | None = None

    def __repr__(self) -> str:
        return f"<{self.level} {self.code} {self.name}>"

    @property
    def cleaned(self) -> str:
        return clean(self.name)

    @property
    def keys(self) -> frozenset[str]:
        """The normalised forms of the name that count as equal (see ``names``)."""
        if self._keys is None:
            self._keys = frozenset(self._compute_keys())
        return self._keys

    @property
    def kind(self) -> str:
        """For a village: ``village`` or ``residents``, from its name (村委会, 居委会, 社区), else
        from its code (NBS committee kind). Empty above the village level."""
        if self._kind is None:
            self._kind = (
                (village_kind(self.name) or _kind_from_code(self.code))
                if self.level == "village"
                else ""
            )
        return self._kind

    @property
    def variant_keys(self) -> frozenset[str]:
        """The keys with interchangeable characters folded (the ``variant`` rule)."""
        if self._variant_keys is None:
            self._variant_keys = frozenset(interchangeable_form(key) for key in self.keys)
        return self._variant_keys

    @property
    def numeral_keys(self) -> frozenset[str]:
        """The keys with numbers written one way (the ``numeral`` rule)."""
        if self._numeral_keys is None:
            self._numeral_keys = frozenset(numeral_form(key) for key in self.keys)
        return self._numeral_keys

    def _compute_keys(self) -> Iterable[str]:
        if self.level == "province":
            return {province_key(self.name)}
        if self.level == "prefecture":
            return {prefecture_key(self.name)}
        if self.level == "county":
            return {county_key(self.name)}
        if self.level == "township":
            counties = (self.parent.name,) if self.parent is not None else ()
            return township_keys(self.name, counties)
        township = self.parent
        forms = (township.cleaned, *township.keys) if township is not None else ()
        return village_keys(self.name, forms)

    def township_part_keys(self) -> frozenset[str]:
        """For a village: its keys without a leading *part* of its township's name (the
        ``township-part`` rule: ``大庄刘庄`` in 张大庄镇 → 刘庄), other than its ``keys``. Not
        cached: it is looked at only when nothing else agrees."""
        township = self.parent
        if self.level != "village" or township is None:
            return frozenset()
        parts = {part for key in township.keys for part in township_parts(key)}
        return frozenset(village_keys(self.name, parts) - self.keys) if parts else frozenset()

    @property
    def is_placeholder(self) -> bool:
        """市辖区, 县 and 省直辖县级行政区划 are prefectures only in the code."""
        return self.level == "prefecture" and self.name in PLACEHOLDER_PREFECTURES

    def path(self) -> list["DivisionNode"]:
        """From the province down to this node."""
        nodes = []
        node: DivisionNode | None = self
        while node is not None:
            nodes.append(node)
            node = node.parent
        return nodes[::-1]

    def ancestor(self, level: str) -> "DivisionNode | None":
        node: DivisionNode | None = self
        while node is not None and node.level != level:
            node = node.parent
        return node

    def descendants(self, level: str) -> Iterator["DivisionNode"]:
        """Every node of ``level`` below this one."""
        depth = LEVEL_DEPTH[level]
        stack = [self]
        while stack:
            node = stack.pop()
            for child in node.children:
                if child.level == level:
                    yield child
                elif LEVEL_DEPTH[child.level] < depth:
                    stack.append(child)


def _kind_from_code(code: str) -> str:
    kind = committee_kind(code)
    return "residents" if kind.startswith("residents") else "village"


class DivisionIndex:
    """The kept part of the tree, and the provinces it was asked for but does not have."""

    def __init__(self, nodes: dict[str, DivisionNode], *, source: str) -> None:
        self.nodes = nodes
        self.source = source
        self.provinces = [node for node in nodes.values() if node.level == "province"]

    def __len__(self) -> int:
        return len(self.nodes)

    def get(self, code: str) -> DivisionNode | None:
        return self.nodes.get(code)


def _wanted(province_names: Iterable[str]) -> set[str]:
    return {province_key(name) for name in province_names if clean(name)}


# --- from the platform database -------------------------------------------------------------


def index_from_database(*, province_names: Iterable[str]) -> DivisionIndex:
    """The provinces of ``province_names`` (any spelling: 北京, 北京市) from ``regions.Division``.

    Each province is read as one range of codes, which the primary key's index serves on both
    SQLite and PostgreSQL.
    """
    from taocun.regions.models import Division

    wanted = _wanted(province_names)
    provinces = [
        code
        for code, name in Division.objects.filter(level="province").values_list("code", "name")
        if province_key(name) in wanted
    ]
    builder = _TreeBuilder(location=_("the division table"))
    for code in provinces:
        rows = (
            Division.objects.filter(code__gte=code[:2] + "0" * 10, code__lte=code[:2] + "9" * 10)
            .order_by("code")
            .values_list("code", "name", "level", "parent_id")
        )
        for row in rows.iterator(chunk_size=20_000):
            builder.add(*row, line=None)
    return builder.finish(source="db")


# --- from a divisions file ------------------------------------------------------------------


def index_from_file(
    *, path: str | Path, province_names: Iterable[str], progress: bool = False
) -> DivisionIndex:
    """The provinces of ``province_names`` from a divisions file, read in one pass."""
    path = Path(path)
    if not path.is_file():
        raise ValidationError(_("%(path)s: no such file") % {"path": path}, field="divisions")
    wanted = _wanted(province_names)
    builder = _TreeBuilder(location=str(path))
    decided: dict[str, bool] = {}  # province prefix -> kept?
    waiting: dict[str, list[tuple]] = {}
    with path.open("rb") as probe:
        magic = probe.read(4)
    reader = _parquet_rows if magic == PARQUET_MAGIC else _csv_rows
    with progress_bar(total=None, unit="B", desc=path.name, disable=not progress) as bar:
        for line, code, name, level, parent_code in reader(path, bar):
            prefix = code[:2]
            if level == "province":
                keep = province_key(name) in wanted
                decided[prefix] = keep
                if keep:
                    builder.add(code, name, level, parent_code, line=line)
                for (
                    waiting_code,
                    waiting_name,
                    waiting_level,
                    waiting_parent,
                    waiting_line,
                ) in waiting.pop(prefix, ()):
                    if keep:
                        builder.add(
                            waiting_code,
                            waiting_name,
                            waiting_level,
                            waiting_parent,
                            line=waiting_line,
                        )
                continue
            keep = decided.get(prefix)
            if keep:
                builder.add(code, name, level, parent_code, line=line)
            elif keep is None:
                waiting.setdefault(prefix, []).append((code, name, level, parent_code, line))
    # Rows of a province the file never names cannot be reached from a list: they are dropped.
    return builder.finish(source=str(path))


def _csv_rows(path: Path, bar: tqdm) -> Iterator[tuple[int, str, str, str, str]]:
    """Rows of a CSV or gzipped CSV file; the bar counts bytes of the file as stored."""
    bar.reset(total=path.stat().st_size)
    with path.open("rb") as raw:
        gzipped = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        binary = gzip.GzipFile(fileobj=raw) if gzipped else raw
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
        try:
            reader = csv.reader(text)
            picks = _pick_columns([name.strip() for name in next(reader, [])], path)
            code_at, name_at, level_at, parent_at = picks
            width = max(picks) + 1
            for values in reader:
                if reader.line_num % PROGRESS_EVERY_ROWS == 0:
                    bar.update(raw.tell() - bar.n)
                if not values:
                    continue
                if len(values) < width:
                    raise ValidationError(
                        _("expected at least %(count)d fields") % {"count": width},
                        field="divisions",
                        location=f"{path}:{reader.line_num}",
                    )
                yield (
                    reader.line_num,
                    values[code_at].strip(),
                    values[name_at].strip(),
                    values[level_at].strip(),
                    values[parent_at].strip(),
                )
            bar.update(raw.tell() - bar.n)
        except (UnicodeDecodeError, csv.Error, OSError, EOFError, zlib.error) as error:
            raise ValidationError(
                _("cannot read the divisions file: %(error)s") % {"error": error},
                field="divisions",
                location=str(path),
            ) from error
        finally:
            text.detach()


def _parquet_rows(path: Path, bar: tqdm) -> Iterator[tuple[int, str, str, str, str]]:
    """Rows of a Parquet file, numbered as the lines of the equivalent CSV; the bar counts
    rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        _pick_columns(list(parquet.schema_arrow.names), path)
        bar.reset(total=parquet.metadata.num_rows)
        bar.unit = "row"
        line = 2
        for batch in parquet.iter_batches(
            batch_size=PARQUET_BATCH_ROWS, columns=list(DIVISION_COLUMNS)
        ):
            columns = [column.to_pylist() for column in batch.columns]
            for code, name, level, parent_code in zip(*columns, strict=True):
                yield (
                    line,
                    str(code or "").strip(),
                    str(name or "").strip(),
                    str(level or "").strip(),
                    str(parent_code or "").strip(),
                )
                line += 1
            bar.update(batch.num_rows)
    except (pa.ArrowException, OSError) as error:
        raise ValidationError(
            _("cannot read the divisions file: %(error)s") % {"error": error},
            field="divisions",
            location=str(path),
        ) from error


def _pick_columns(header: list[str], path: Path) -> tuple[int, int, int, int]:
    missing = [name for name in DIVISION_COLUMNS if name not in header]
    if missing:
        raise ValidationError(
            _("not a divisions file: missing column(s) %(columns)s")
            % {"columns": ", ".join(missing)},
            field="divisions",
            location=f"{path}:1",
        )
    return tuple(header.index(name) for name in DIVISION_COLUMNS)  # type: ignore[return-value]


class _TreeBuilder:
    """Nodes first, links at the end (a child may come before its parent)."""

    def __init__(self, *, location: str) -> None:
        self.location = location
        self.nodes: dict[str, DivisionNode] = {}

    def add(
        self, code: str, name: str, level: str, parent_code: str | None, *, line: int | None
    ) -> None:
        if not is_valid_code(code) or level not in LEVELS or not name:
            raise ValidationError(
                _("not a division row (code %(code)r, level %(level)r, name %(name)r)")
                % {"code": code, "level": level, "name": name},
                field="divisions",
                location=f"{self.location}:{line}" if line else self.location,
            )
        # One shared string per level, not one per row (half a million rows).
        self.nodes[code] = DivisionNode(code, name, LEVEL_NAMES[level], parent_code or "")

    def finish(self, *, source: str) -> DivisionIndex:
        nodes = self.nodes
        for node in nodes.values():
            if not node.parent_code:
                continue
            parent = nodes.get(node.parent_code)
            if parent is None:
                raise ValidationError(
                    _("the parent %(parent)s of %(code)s is missing")
                    % {"parent": node.parent_code, "code": node.code},
                    field="divisions",
                    location=self.location,
                )
            node.parent = parent
            node.parent_code = ""
            if parent.children:
                parent.children.append(node)
            else:
                parent.children = [node]
        return DivisionIndex(nodes, source=source)

"""Reading a published list: ``province,prefecture,county,township,village`` (UTF-8 CSV with a
header row, plain or gzipped).

Other columns (the 2014 list's ``main_product``) are kept and written back to the report. A
header may also use the Chinese column names of the published appendices (省, 市, 县, 乡镇,
村). A list is small (the largest round has thousands of rows), so it is read whole; a row
with the wrong number of fields rejects the file with every such row named, since the columns
of such a row cannot be trusted. A row with empty names is kept: it is reported as unmatched.
"""

import csv
import gzip
import io
import zlib
from pathlib import Path

from django.utils.translation import gettext as _

from taocun.core.errors import ImportRejected, RowError, ValidationError
from taocun.labels.reconcile.matching import ListRow

LIST_COLUMNS = ("province", "prefecture", "county", "township", "village")
COLUMN_ALIASES = {
    "省": "province",
    "省份": "province",
    "市": "prefecture",
    "地市": "prefecture",
    "地级市": "prefecture",
    "县": "county",
    "区县": "county",
    "县区": "county",
    "县市区": "county",
    "乡镇": "township",
    "镇": "township",
    "乡镇街道": "township",
    "村": "village",
    "村名": "village",
    "行政村": "village",
}
MAX_ERRORS = 100
GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"


class ListRejected(ImportRejected):
    """A list file that cannot be read as a list; nothing was matched."""

    code = "list_rejected"

    def __init__(self, path: str, errors: list[RowError], *, truncated: bool = False) -> None:
        super().__init__(path, errors, truncated=truncated)
        more = _(" (stopped at the error limit)") if truncated else ""
        self.message = _("%(path)s: %(count)d bad row(s)%(more)s; nothing was matched") % {
            "path": path,
            "count": len(self.errors),
            "more": more,
        }
        self.args = (self.message,)


def read_list(path: str | Path) -> list[ListRow]:
    """The rows of a published list, in file order."""
    path = Path(path)
    if not path.is_file():
        raise ValidationError(_("%(path)s: no such file") % {"path": path}, field="file")
    data = path.read_bytes()
    if data[:4] == ZIP_MAGIC:
        reason = _("this is a zip file (an Excel workbook?); save it as CSV UTF-8")
        raise _rejected(path, 1, "file", reason)
    if data[:2] == GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            reason = _("the gzip data is corrupt or truncated (%(error)s)") % {"error": error}
            raise _rejected(path, 1, "file", reason) from error
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        reason = _("not valid UTF-8 (is the file GBK-encoded? save it as UTF-8)")
        raise _rejected(path, line, "file", reason) from error
    if "\x00" in text:
        raise _rejected(path, 1, "file", _("binary data, not text (UTF-16?): expected CSV UTF-8"))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise _rejected(path, 1, "file", _("the file is empty"))
        columns = _columns(path, header)
        rows: list[ListRow] = []
        errors: list[RowError] = []
        line = reader.line_num + 1
        for values in reader:
            if any(value.strip() for value in values):
                if len(values) != len(header):
                    if len(errors) < MAX_ERRORS:
                        errors.append(
                            RowError(
                                line=line,
                                field="row",
                                reason=_("expected %(expected)d fields, found %(found)d")
                                % {"expected": len(header), "found": len(values)},
                            )
                        )
                else:
                    rows.append(_row(line, columns, values))
            line = reader.line_num + 1
    except csv.Error as error:
        reason = _("not valid CSV: %(error)s") % {"error": error}
        raise _rejected(path, reader.line_num or 1, "file", reason) from error
    if errors:
        raise ListRejected(str(path), errors, truncated=len(errors) >= MAX_ERRORS)
    if not rows:
        raise _rejected(path, 1, "file", _("the file has no data rows"))
    return rows


def _columns(path: Path, header: list[str]) -> list[str]:
    names = [COLUMN_ALIASES.get(name.strip(), name.strip().lower()) for name in header]
    missing = [name for name in LIST_COLUMNS if name not in names]
    if missing:
        raise ListRejected(
            str(path),
            [
                RowError(
                    line=1,
                    field=name,
                    reason=_("required column missing (expected %(columns)s)")
                    % {"columns": ",".join(LIST_COLUMNS)},
                )
                for name in missing
            ],
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ListRejected(
            str(path),
            [
                RowError(line=1, field=name, reason=_("the column appears twice"))
                for name in repeated
            ],
        )
    return names


def _row(line: int, columns: list[str], values: list[str]) -> ListRow:
    fields = {name: value.strip() for name, value in zip(columns, values, strict=True)}
    return ListRow(
        line=line,
        **{name: fields.pop(name) for name in LIST_COLUMNS},
        extra=fields,
    )


def _rejected(path: Path, line: int, field: str, reason: str) -> ImportRejected:
    return ListRejected(str(path), [RowError(line=line, field=field, reason=reason)])

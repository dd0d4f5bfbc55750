"""``taocun regions import FILE`` and ``taocun regions export FILE``: thin wrappers over
:func:`taocun.regions.importing.divisions_import` and
:func:`taocun.regions.exporting.divisions_export`. Errors become a clean message and exit
code 2 in :class:`taocun.core.commands.TaocunCommand`."""

import argparse
import os
import sys

from django.utils.translation import gettext as _

from taocun.core.commands import TaocunCommand
from taocun.regions.codes import LEVELS
from taocun.regions.exporting import STDOUT, divisions_export
from taocun.regions.importing import divisions_import


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            _("expected a whole number of at least 1, got %(value)s") % {"value": repr(text)}
        )
    return value


class Command(TaocunCommand):
    help = "Import or export the division tree (CSV UTF-8, gzipped CSV or Parquet)."

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{import,export}")
        importing = actions.add_parser(
            "import",
            help="Check a divisions file and upsert it by code, all or nothing.",
            description="Check a divisions file and upsert it by code. A file with any bad "
            "row changes nothing; every bad row is listed with its line and field.",
        )
        importing.add_argument("file", help="a .csv, .csv.gz (gzip is detected) or .parquet")
        importing.add_argument(
            "--max-errors",
            type=_positive,
            default=100,
            metavar="N",
            help="stop listing bad rows after N (default 100)",
        )
        importing.add_argument(
            "--no-progress", action="store_true", help="no progress bar on standard error"
        )
        importing.add_argument(
            "--dry-run", action="store_true", help="check and count, then write nothing"
        )
        exporting = actions.add_parser(
            "export",
            help="Write divisions in code order (format from the suffix).",
            description="Write divisions in the import format, in code order: .csv, .csv.gz "
            "or .parquet by the file's suffix, or - for CSV on standard output.",
        )
        exporting.add_argument("file", help=".csv, .csv.gz, .parquet, or - for standard output")
        exporting.add_argument("--level", choices=LEVELS, help="only this level")
        exporting.add_argument(
            "--under", metavar="CODE", help="only this division and the divisions below it"
        )
        exporting.add_argument(
            "--no-progress", action="store_true", help="no progress bar on standard error"
        )

    def handle(self, *args, action: str, **options) -> None:
        if action == "import":
            self._import(options)
        else:
            self._export(options)

    def _import(self, options: dict) -> None:
        summary = divisions_import(
            path=options["file"],
            max_errors=options["max_errors"],
            progress=not options["no_progress"],
            dry_run=options["dry_run"],
            actor="cli",
        )
        counts = {
            "path": summary.path,
            "rows": f"{summary.rows:,}",
            "inserted": f"{summary.inserted:,}",
            "updated": f"{summary.updated:,}",
            "unchanged": f"{summary.unchanged:,}",
            "seconds": f"{summary.seconds:.1f}",
        }
        if summary.dry_run:
            message = _(
                "%(path)s: %(rows)s rows read, %(inserted)s inserted, %(updated)s updated, "
                "%(unchanged)s unchanged in %(seconds)s s (dry run: nothing was written)"
            )
        else:
            message = _(
                "%(path)s: %(rows)s rows read, %(inserted)s inserted, %(updated)s updated, "
                "%(unchanged)s unchanged in %(seconds)s s"
            )
        self.stdout.write(message % counts)

    def _export(self, options: dict) -> None:
        to_stdout = options["file"] == STDOUT
        try:
            summary = divisions_export(
                path=options["file"],
                level=options["level"],
                under=options["under"],
                stream=self.stdout if to_stdout else None,
                progress=not options["no_progress"],
            )
        except BrokenPipeError:
            # `taocun regions export - | head`: the reader has gone, which is not an error.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return
        # With the data on standard output, the summary goes to standard error.
        report = self.stderr if to_stdout else self.stdout
        report.write(
            _("%(path)s: %(rows)s rows, columns %(columns)s")
            % {
                "path": summary.path if not to_stdout else _("standard output"),
                "rows": f"{summary.rows:,}",
                "columns": ",".join(summary.columns),
            }
        )

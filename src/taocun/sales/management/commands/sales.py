"""``taocun sales import shops|orders|rates FILE``: thin wrappers over
:mod:`taocun.sales.importing`. Errors become a clean message and exit code 2 in
:class:`taocun.core.commands.TaocunCommand`."""

import argparse

from django.utils.translation import gettext as _

from taocun.core.commands import TaocunCommand
from taocun.sales.importing import ImportSummary, orders_import, rates_import, shops_import

IMPORTERS = {"shops": shops_import, "orders": orders_import, "rates": rates_import}
FORMATS = {
    "shops": "platform,shop_id,village_code,opened_at[,kind,household_id,closed_at]",
    "orders": "platform,order_id,shop_id,amount,paid_at,status[,currency,refunded_amount]",
    "rates": "currency,valid_from,cny_per_unit",
}


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


class Command(TaocunCommand):
    help = "The sales ledger: import shops, orders and currency rates."

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{import}")
        importing = actions.add_parser(
            "import",
            help="Check a shops, orders or rates file and upsert it by its key, all or nothing.",
            description="Check a file and upsert it by its key. A file with any bad row "
            "changes nothing; every bad row is listed with its line and field. Import "
            "divisions first, then shops, then rates (if any order is not in CNY), then orders.",
        )
        kinds = importing.add_subparsers(dest="kind", required=True, metavar="{shops,orders,rates}")
        for kind, columns in FORMATS.items():
            command = kinds.add_parser(
                kind,
                help=f"columns: {columns}",
                description=f"Import {kind}: CSV UTF-8, gzipped CSV (detected by its bytes) or "
                f"Parquet with the columns {columns}. See docs/formats.md.",
            )
            command.add_argument("file", help="a .csv, .csv.gz or .parquet file")
            command.add_argument(
                "--max-errors",
                type=_positive,
                default=100,
                metavar="N",
                help="stop listing bad rows after N (default 100)",
            )
            command.add_argument(
                "--no-progress", action="store_true", help="no progress bar on standard error"
            )
            command.add_argument(
                "--dry-run", action="store_true", help="check and count, then write nothing"
            )

    def handle(self, *args, action: str, kind: str, **options) -> None:
        summary = IMPORTERS[kind](
            path=options["file"],
            max_errors=options["max_errors"],
            progress=not options["no_progress"],
            dry_run=options["dry_run"],
            actor="cli",
        )
        self.stdout.write(_describe(summary))


def _describe(summary: ImportSummary) -> str:
    """The summary line, in the user's language (the first part is worded as the divisions
    import's, so both commands read alike)."""
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
    parts = [message % counts]
    if summary.kind == "shops":
        parts.append(
            _("%(count)s shops moved to another village") % {"count": f"{summary.moved:,}"}
        )
    elif summary.kind == "rates":
        parts.append(_("%(count)s orders reconverted") % {"count": f"{summary.reconverted:,}"})
    parts.append(_("%(rate)s rows/s") % {"rate": f"{summary.rows_per_second:,.0f}"})
    return "; ".join(parts)

"""``taocun labels_reconcile FILE`` (also reached as ``taocun labels reconcile FILE``): a thin
wrapper over :func:`taocun.labels.reconcile.services.published_list_reconcile`. Errors become a
clean message and exit code 2 in :class:`taocun.core.commands.TaocunCommand`."""

import argparse

from django.utils.translation import gettext as _

from taocun.core.commands import TaocunCommand
from taocun.labels.reconcile.matching import MATCHED
from taocun.labels.reconcile.services import ReconcileResult, published_list_reconcile

STDOUT = "-"


def _evaluation_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an evaluation id (1 or more), got {text!r}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 0, got {text!r}")
    return value


class Command(TaocunCommand):
    help = (
        "Match a published list of Taobao villages (province,prefecture,county,township,"
        "village) to division codes; with --evaluation, report precision and recall."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="the list: CSV UTF-8 (or gzipped) with a header row")
        parser.add_argument(
            "--divisions",
            metavar="FILE",
            help="a divisions file (.csv, .csv.gz or .parquet) instead of the platform "
            "database; only the provinces the list names are read",
        )
        parser.add_argument(
            "--evaluation",
            type=_evaluation_id,
            metavar="ID",
            help="a stored evaluation to compare with the list (precision and recall)",
        )
        parser.add_argument(
            "--report",
            metavar="OUT.csv",
            help="write one row per list row (status, code, method, reason); - for standard output",
        )
        parser.add_argument(
            "--unlisted",
            metavar="OUT.csv",
            help="with --evaluation: write the labelled villages the list does not have",
        )
        parser.add_argument(
            "--show",
            type=_count,
            default=20,
            metavar="N",
            help="list at most N ambiguous and unmatched rows (default 20; 0 for none)",
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="no progress bar on standard error"
        )

    def handle(self, *args, **options) -> None:
        to_stdout = options["report"] == STDOUT
        result = published_list_reconcile(
            path=options["file"],
            divisions_path=options["divisions"],
            evaluation_id=options["evaluation"],
            report_path=None if to_stdout else options["report"],
            report_stream=self.stdout if to_stdout else None,
            unlisted_path=options["unlisted"],
            progress=not options["no_progress"],
        )
        # With the report on standard output, the summary goes to standard error.
        self._summary(result, self.stderr if to_stdout else self.stdout, options["show"])

    def _summary(self, result: ReconcileResult, out, show: int) -> None:
        out.write(
            _(
                "%(path)s: %(rows)d rows — %(matched)d matched (%(rate).1f %%), "
                "%(ambiguous)d ambiguous, %(unmatched)d unmatched; divisions from %(source)s "
                "(%(nodes)d indexed) in %(seconds).1f s"
            )
            % {
                "path": result.path,
                "rows": result.rows,
                "matched": result.matched,
                "rate": 100 * result.match_rate,
                "ambiguous": result.ambiguous,
                "unmatched": result.unmatched,
                "source": result.divisions,
                "nodes": result.divisions_indexed,
                "seconds": result.seconds,
            }
        )
        out.write(_("matched by method:"))
        for method, count in result.methods.most_common():
            out.write(f"  {count:6d}  {method}")
        if result.reasons:
            out.write(_("not matched, by reason:"))
            for reason, count in result.reasons.most_common():
                out.write(f"  {count:6d}  {reason}")
        unresolved = [match for match in result.matches if match.status != MATCHED]
        for match in unresolved[:show]:
            row = match.row
            out.write(
                f"  line {row.line}: {row.province} {row.prefecture} {row.county} "
                f"{row.township} {row.village} — {match.status}: {match.message}"
            )
        if len(unresolved) > show > 0:
            out.write(
                _("  … and %(count)d more (see --report)") % {"count": len(unresolved) - show}
            )
        agreement = result.agreement
        if agreement is None:
            return
        precision = "–" if agreement.precision is None else f"{100 * agreement.precision:.1f} %"
        recall = "–" if agreement.recall is None else f"{100 * agreement.recall:.1f} %"
        out.write(
            _(
                "evaluation %(id)d (%(rules)s, cut-off %(cutoff)s): %(labeled)d labelled; "
                "list: %(listed)d villages matched (%(not_evaluated)d not evaluated, "
                "%(unresolved)d rows unresolved)"
            )
            % {
                "id": agreement.evaluation_id,
                "rules": agreement.rule_set,
                "cutoff": agreement.cutoff.isoformat(),
                "labeled": agreement.labeled,
                "listed": agreement.listed,
                "not_evaluated": agreement.not_evaluated,
                "unresolved": agreement.unresolved_rows,
            }
        )
        out.write(
            _(
                "true positives %(tp)d, false positives %(fp)d, false negatives %(fn)d; "
                "precision %(precision)s, recall %(recall)s"
            )
            % {
                "tp": agreement.true_positives,
                "fp": agreement.false_positives,
                "fn": agreement.false_negatives,
                "precision": precision,
                "recall": recall,
            }
        )

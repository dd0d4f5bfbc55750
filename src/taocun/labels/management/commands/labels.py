"""``taocun labels rules|evaluate|explain|compare|reconcile``: thin wrappers over the labels
services and selectors. Errors become a clean message and exit code 2 in
:class:`taocun.core.commands.TaocunCommand`; ``reconcile`` is its own command
(``labels_reconcile``), reached through this one."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import CommandError
from django.utils import translation
from django.utils.translation import gettext as _

from taocun.core.commands import TaocunCommand, progress_bar
from taocun.core.money import Money
from taocun.labels.comparing import LabelChange, evaluations_compare
from taocun.labels.explaining import village_explain
from taocun.labels.exporting import evaluation_write_csv
from taocun.labels.rulesets import RuleSet, rule_set_load, rule_sets_shipped
from taocun.labels.services import evaluation_run, evaluations_fail_stale

RECONCILE_COMMAND = "labels_reconcile"


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 0, got {text!r}")
    return value


class Command(TaocunCommand):
    help = "Taobao-Village labels: rule sets, evaluations, explanations, comparisons."

    def add_arguments(self, parser) -> None:
        common = argparse.ArgumentParser(add_help=False)
        common.add_argument(
            "--language",
            choices=[code for code, _name in settings.LANGUAGES],
            help="language of the output (default: the site's default language)",
        )
        actions = parser.add_subparsers(
            dest="action",
            required=True,
            metavar="{rules,evaluate,explain,compare,reconcile,fail-stale}",
        )
        listing = actions.add_parser(
            "rules",
            parents=[common],
            help="List the shipped rule sets with their sources, or show one in full.",
        )
        listing.add_argument("name", nargs="?", help="a rule set name or a path to a .toml file")

        evaluating = actions.add_parser(
            "evaluate",
            parents=[common],
            help="Evaluate every village, town and cluster under a rule set.",
            description="Evaluate every village, township and cluster of a source under a "
            "rule set. On the platform database the evaluation is stored (all or nothing) "
            "unless --no-store.",
        )
        evaluating.add_argument(
            "--rules", required=True, metavar="NAME|PATH", help="a shipped rule set or a .toml"
        )
        evaluating.add_argument(
            "--cutoff", type=_date, metavar="DATE", help="cut-off day (default: the rule set's)"
        )
        evaluating.add_argument(
            "--source",
            default="db",
            metavar="db|parquet:DIR|spark:DIR",
            help="where the data is (default: the platform database)",
        )
        evaluating.add_argument(
            "--out", metavar="DIR", help="write villages.csv, towns.csv and clusters.csv here"
        )
        evaluating.add_argument(
            "--no-store", action="store_true", help="do not keep the evaluation in the database"
        )
        evaluating.add_argument(
            "--no-progress", action="store_true", help="no progress bar on standard error"
        )

        explaining = actions.add_parser(
            "explain",
            parents=[common],
            help="Each criterion of a village: value, threshold, pass/fail and the gap.",
        )
        explaining.add_argument("code", help="the village's 12-digit code")
        explaining.add_argument(
            "--evaluation", type=int, metavar="ID", help="a stored evaluation (default: latest)"
        )
        explaining.add_argument(
            "--rules", metavar="NAME|PATH", help="compute now under this rule set instead"
        )
        explaining.add_argument("--cutoff", type=_date, metavar="DATE", help="with --rules")
        explaining.add_argument(
            "--source", default="db", metavar="db|parquet:DIR|spark:DIR", help="with --rules"
        )

        comparing = actions.add_parser(
            "compare",
            parents=[common],
            help="New, kept and lost labels between two stored evaluations.",
        )
        comparing.add_argument("before", type=int, help="the earlier evaluation's id")
        comparing.add_argument("after", type=int, help="the later evaluation's id")
        comparing.add_argument(
            "--limit",
            type=_positive,
            default=20,
            metavar="N",
            help="list at most N villages per group (0: all; default 20)",
        )

        actions.add_parser(
            "fail-stale",
            parents=[common],
            help="Mark failed the running evaluations whose worker stopped (for cron).",
        )

        reconciling = actions.add_parser(
            "reconcile",
            add_help=False,
            help="Match a published list of Taobao villages to division codes.",
        )
        reconciling.add_argument("rest", nargs=argparse.REMAINDER)

    def handle(self, *args, action: str, **options) -> None:
        if action == "reconcile":
            self._reconcile(options["rest"])
            return
        language = options.get("language")
        with translation.override(language) if language else contextlib.nullcontext():
            getattr(self, f"_{action.replace('-', '_')}")(options)

    def _fail_stale(self, options: dict) -> None:
        failed = evaluations_fail_stale()
        self.stdout.write(
            _("%(count)d stopped evaluation(s) marked failed") % {"count": len(failed)}
        )

    # --- rules ---------------------------------------------------------------------------

    def _rules(self, options: dict) -> None:
        if options["name"]:
            self._rules_detail(rule_set_load(options["name"]))
            return
        for rules in rule_sets_shipped():
            self.stdout.write(
                f"{rules.name} ({rules.version}) — {rules.title} — "
                + _("round %(year)s, %(window)s")
                % {"year": rules.round_year, "window": rules.describe_window()}
            )
            for source in rules.sources:
                self.stdout.write(f"    {source}")

    def _rules_detail(self, rules: RuleSet) -> None:
        window = rules.window_for()
        lines = [
            f"{rules.name} ({rules.version}) — {rules.title}",
            _("file: %(path)s (sha256 %(digest)s)")
            % {"path": rules.path, "digest": rules.digest[:12]},
            _("window: %(start)s to %(cutoff)s; active shops from %(activity)s")
            % {
                "start": window.start.isoformat(),
                "cutoff": window.cutoff.isoformat(),
                "activity": window.activity_start.isoformat(),
            },
            _("counted platforms: %(platforms)s")
            % {"platforms": ", ".join(rules.counted_platforms or [_("all")])},
        ]
        if rules.main_platforms:
            lines.append(_("main platform: %(main)s") % {"main": ", ".join(rules.main_platforms)})
        sales = rules.village_sales
        lines.append(
            _("village sales %(symbol)s %(amount)s")
            % {"symbol": sales.symbol, "amount": Money(int(sales.threshold)).format()}
        )
        if rules.village_active_shops:
            shops = rules.village_active_shops
            lines.append(
                _("active shops %(symbol)s %(count)s")
                % {"symbol": shops.symbol, "count": shops.threshold}
            )
        if rules.village_household_share:
            share = rules.village_household_share
            lines.append(
                _("household share %(symbol)s %(share)s (%(basis)s)")
                % {
                    "symbol": share.symbol,
                    "share": f"{float(share.threshold):.0%}",
                    "basis": rules.household_share_basis,
                }
            )
        lines.append(
            _("active shop: open %(days)s days, %(orders)s orders a month over %(months)s months")
            % {
                "days": rules.min_age_days,
                "orders": rules.min_monthly_orders,
                "months": rules.activity_months,
            }
        )
        lines.append(
            _("eligible: %(kinds)s%(rural)s")
            % {
                "kinds": ", ".join(rules.committees),
                "rural": _(", rural only") if rules.rural_only else "",
            }
        )
        lines.append(_("sources:"))
        lines.extend(f"    {source}" for source in rules.sources)
        if rules.summary:
            lines.append(rules.summary)
        self.stdout.write("\n".join(lines))

    # --- evaluate ------------------------------------------------------------------------

    def _evaluate(self, options: dict) -> None:
        rules = rule_set_load(options["rules"])
        store = not options["no_store"]
        with progress_bar(
            total=100, unit="%", desc=rules.name, disable=options["no_progress"]
        ) as bar:

            def progress(percent: int, note: str) -> None:
                bar.set_postfix_str(note, refresh=False)
                bar.update(max(0, percent - bar.n))

            run = evaluation_run(
                actor="cli",
                rules=rules,
                cutoff=options["cutoff"],
                source=options["source"],
                store=store,
                progress=progress,
            )
        outcome = run.outcome
        window = outcome.window
        self.stdout.write(
            _("%(rules)s %(version)s, %(start)s to %(cutoff)s, source %(source)s")
            % {
                "rules": rules.name,
                "version": rules.version,
                "start": window.start.isoformat(),
                "cutoff": window.cutoff.isoformat(),
                "source": outcome.source,
            }
        )
        self.stdout.write(
            _(
                "%(villages)s villages evaluated: %(labeled)s labelled; %(towns)s towns "
                "labelled; %(clusters)s clusters; %(seconds).1f s"
            )
            % {
                "villages": outcome.villages_evaluated,
                "labeled": outcome.villages_labeled,
                "towns": outcome.towns_labeled,
                "clusters": len(outcome.clusters),
                "seconds": outcome.seconds,
            }
        )
        if run.evaluation is not None:
            self.stdout.write(_("stored as evaluation %(id)s") % {"id": run.evaluation.pk})
        for warning in outcome.warnings:
            self.stderr.write(_("Warning: %(warning)s") % {"warning": warning})
        if options["out"]:
            paths = evaluation_write_csv(outcome=outcome, directory=options["out"])
            self.stdout.write(
                _("wrote %(files)s") % {"files": ", ".join(str(path) for path in paths)}
            )

    # --- explain -------------------------------------------------------------------------

    def _explain(self, options: dict) -> None:
        if options["evaluation"] is not None and options["rules"]:
            raise CommandError("give --evaluation or --rules, not both", returncode=2)
        if options["cutoff"] and not options["rules"]:
            raise CommandError("--cutoff goes with --rules", returncode=2)
        explanation = village_explain(
            code=options["code"],
            evaluation_id=options["evaluation"],
            rules=rule_set_load(options["rules"]) if options["rules"] else None,
            cutoff=options["cutoff"],
            source=options["source"],
        )
        self.stdout.write("\n".join(explanation.lines()))

    # --- compare -------------------------------------------------------------------------

    def _compare(self, options: dict) -> None:
        comparison = evaluations_compare(before_id=options["before"], after_id=options["after"])
        limit = options["limit"]
        before, after = comparison.before, comparison.after
        self.stdout.write(
            _(
                "from evaluation %(a)s (%(a_rules)s, %(a_cutoff)s) "
                "to %(b)s (%(b_rules)s, %(b_cutoff)s)"
            )
            % {
                "a": before.pk,
                "a_rules": before.rule_set,
                "a_cutoff": before.cutoff.isoformat(),
                "b": after.pk,
                "b_rules": after.rule_set,
                "b_cutoff": after.cutoff.isoformat(),
            }
        )
        self.stdout.write(
            _("villages: %(new)s new, %(kept)s kept, %(lost)s lost")
            % {
                "new": len(comparison.new),
                "kept": len(comparison.kept),
                "lost": len(comparison.lost),
            }
        )
        self.stdout.write(
            _("towns: %(new)s new, %(kept)s kept, %(lost)s lost")
            % {
                "new": len(comparison.towns_new),
                "kept": len(comparison.towns_kept),
                "lost": len(comparison.towns_lost),
            }
        )
        for title, changes in (
            (_("new villages"), comparison.new),
            (_("lost villages"), comparison.lost),
            (_("new towns"), comparison.towns_new),
            (_("lost towns"), comparison.towns_lost),
        ):
            if not changes:
                continue
            self.stdout.write(f"{title}:")
            shown = changes if limit == 0 else changes[:limit]
            for change in shown:
                self.stdout.write("  " + _change_line(change))
            if len(shown) < len(changes):
                self.stdout.write(
                    "  " + _("… and %(count)s more") % {"count": len(changes) - len(shown)}
                )

    # --- reconcile -----------------------------------------------------------------------

    def _reconcile(self, rest: list[str]) -> None:
        if RECONCILE_COMMAND not in get_commands():
            raise CommandError("taocun labels reconcile is not installed", returncode=2)
        call_command(RECONCILE_COMMAND, *rest, stdout=self.stdout, stderr=self.stderr)


def _change_line(change: LabelChange) -> str:
    def sales(fen: int | None) -> str:
        return "–" if fen is None else Money(fen).format()

    return f"{change.code} {change.name}: {sales(change.sales_before_fen)} → " + sales(
        change.sales_after_fen
    )

"""``taocun payments check|release-due|payout-complete|payout-fail``: operations on the
money core, thin wrappers over ``payments.selectors`` and ``payments.services``."""

from django.utils import timezone

from taocun.core.commands import TaocunCommand
from taocun.core.errors import ApplicationError
from taocun.payments import selectors, services


class LedgerProblems(ApplicationError):
    code = "ledger_problems"


class Command(TaocunCommand):
    help = "Check the ledger, release due escrows, settle sandbox payouts."

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser(
            "check",
            help="Print the trial balance and every inconsistency; exit 2 if there is any.",
        )
        actions.add_parser(
            "release-due",
            help="Release every escrow whose release time has passed (safe to run from cron).",
        )
        complete = actions.add_parser(
            "payout-complete", help="Record that a payout reached the seller."
        )
        complete.add_argument("payout", type=int)
        complete.add_argument("--provider-reference", default="")
        fail = actions.add_parser(
            "payout-fail", help="Record that a payout failed; its money returns to the seller."
        )
        fail.add_argument("payout", type=int)
        fail.add_argument("--reason", required=True)

    def handle(self, *args, action: str, **options) -> None:
        getattr(self, "handle_" + action.replace("-", "_"))(**options)

    def handle_check(self, **options) -> None:
        for line in selectors.trial_balance():
            self.stdout.write(
                f"{line.currency} {line.kind:<20} {line.accounts:>8} accounts "
                f"{line.total.yuan_text():>18}"
            )
        problems = selectors.ledger_check()
        if problems:
            raise LedgerProblems("\n".join(problems))
        self.stdout.write(self.style.SUCCESS("The ledger balances."))

    def handle_release_due(self, **options) -> None:
        released = services.escrow_release_due(now=timezone.now())
        self.stdout.write(f"{len(released)} escrow(s) released")

    def handle_payout_complete(self, *, payout: int, provider_reference: str, **options) -> None:
        done = services.payout_complete(
            payout=payout,
            provider_reference=provider_reference,
            idempotency_key=f"cli.payout-complete:{payout}",
            actor="cli",
        )
        self.stdout.write(f"payout {done.pk}: {done.status}")

    def handle_payout_fail(self, *, payout: int, reason: str, **options) -> None:
        done = services.payout_fail(
            payout=payout, reason=reason, idempotency_key=f"cli.payout-fail:{payout}", actor="cli"
        )
        self.stdout.write(f"payout {done.pk}: {done.status}")

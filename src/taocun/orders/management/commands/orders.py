"""``taocun orders expire|complete-due|refund-due``: the sweeps of the orders tasks, for
cron."""

from django.utils import timezone

from taocun.core.commands import TaocunCommand
from taocun.orders import services


class Command(TaocunCommand):
    help = "Cancel unpaid checkouts whose time is over; complete delivered orders that are due."

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser(
            "expire", help="Cancel checkouts not paid in time and release their stock."
        )
        actions.add_parser(
            "complete-due",
            help="Complete shipped or delivered orders whose confirmation time passed.",
        )
        actions.add_parser(
            "refund-due", help="Grant refund requests their sellers did not answer in time."
        )

    def handle(self, *args, action: str, **options) -> None:
        now = timezone.now()
        if action == "expire":
            done = services.checkouts_expire_due(now=now)
            self.stdout.write(f"{len(done)} checkout(s) cancelled")
        elif action == "complete-due":
            done = services.orders_complete_due(now=now)
            self.stdout.write(f"{len(done)} order(s) completed")
        else:
            done = services.orders_refund_due(now=now)
            self.stdout.write(f"{len(done)} refund request(s) granted")

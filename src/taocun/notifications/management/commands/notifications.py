"""``taocun notifications retry|failed``: send due deliveries again, list failed ones."""

from django.utils import timezone

from taocun.core.commands import TaocunCommand
from taocun.notifications import selectors, services


class Command(TaocunCommand):
    help = "Retry failed SMS and e-mail deliveries of notifications, or list them."

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        retry = actions.add_parser(
            "retry",
            help="Send every due delivery again (safe to run from cron), or one by its id.",
        )
        retry.add_argument(
            "--delivery", type=int, help="Retry this delivery now, even if it was given up."
        )
        retry.add_argument("--limit", type=int, default=500, help="At most this many.")
        failed = actions.add_parser("failed", help="List failed deliveries, oldest first.")
        failed.add_argument("--limit", type=int, default=100)

    def handle(self, *args, action: str, **options) -> None:
        getattr(self, "handle_" + action)(**options)

    def handle_retry(self, *, delivery: int | None, limit: int, **options) -> None:
        if delivery is not None:
            done = services.delivery_retry(delivery_id=delivery)
            self.stdout.write(f"delivery {done.pk}: {done.status} ({done.attempts} attempts)")
            if done.error and done.status != "sent":
                self.stdout.write(f"  {done.error}")
            return
        result = services.deliveries_retry(now=timezone.now(), limit=limit)
        self.stdout.write(f"{result.sent} sent, {result.failed} failed, {result.skipped} skipped")

    def handle_failed(self, *, limit: int, **options) -> None:
        rows = list(selectors.deliveries_failed(limit=limit))
        for row in rows:
            retry = (
                f"next {timezone.localtime(row.next_attempt_at):%Y-%m-%d %H:%M}"
                if row.next_attempt_at
                else "given up"
            )
            self.stdout.write(
                f"{row.pk:>8} {row.channel:<5} {row.address:<24} {row.attempts} attempts, "
                f"{retry}: {row.error}"
            )
        self.stdout.write(f"{len(rows)} failed deliveries")

import subprocess
import sys

from django.core.management import call_command
from django.utils.translation import gettext as _

from taocun.core.commands import TaocunCommand
from taocun.demo.services import demo_load


class Command(TaocunCommand):
    help = "Load the demo data into the configured database (idempotent) and serve it."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--seed", type=int, default=2016)
        parser.add_argument("--no-serve", action="store_true", help="load the data and stop")
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="serve without the background worker (evaluations and SMS/e-mail then wait)",
        )

    def handle(self, *args, host, port, seed, no_serve, no_progress, no_worker, **options):
        call_command("migrate", interactive=False, verbosity=0)
        summary = demo_load(seed=seed, progress=not no_progress)
        self.stdout.write(
            _("Demo data ready: %(divisions)d divisions, %(households)d new households registered.")
            % {"divisions": summary.divisions, "households": summary.households_registered}
        )
        self.stdout.write(
            _("Market: %(shops)d shops, %(products)d products; sales ledger: %(orders)d orders.")
            % {
                "shops": summary.shops_verified,
                "products": summary.products,
                "orders": summary.orders,
            }
        )
        for rules, (villages, towns, clusters) in summary.labelled.items():
            self.stdout.write(
                _("  %(rules)s: %(villages)d villages, %(towns)d towns, %(clusters)d clusters")
                % {"rules": rules, "villages": villages, "towns": towns, "clusters": clusters}
            )
        self.stdout.write(_("Demo logins (phone / password / role):"))
        for phone, password, role in summary.accounts:
            self.stdout.write(f"  {phone}  {password}  {role}")
        if no_serve:
            return
        self.stdout.write(
            _("Serving taocun at %(url)s  (Ctrl-C to stop)") % {"url": f"http://{host}:{port}/"}
        )
        # The background worker runs beside the server, as in production: label evaluations
        # started from the pages and the SMS/e-mail of notifications are its work.
        worker = (
            None if no_worker else subprocess.Popen([sys.executable, "-m", "taocun", "db_worker"])
        )
        try:
            call_command("runserver", f"{host}:{port}", use_reloader=False)
        finally:
            if worker is not None:
                worker.terminate()
                try:
                    worker.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    worker.kill()

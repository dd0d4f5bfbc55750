"""``taocun synth --out DIR``: a thin wrapper over :func:`taocun.synth.generator.synth_generate`.

It writes files only and never touches the database. Errors become a clean message and exit
code 2 in :class:`taocun.core.commands.TaocunCommand`.
"""

import argparse

from django.utils.translation import gettext as _

from taocun.core.commands import TaocunCommand
from taocun.core.errors import ApplicationError
from taocun.synth import economy
from taocun.synth.generator import FORMATS, parse_years, synth_generate


def _count(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text.replace("_", "").replace(",", ""))
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"expected a whole number of at least {minimum}, got {text!r}"
            )
        return value

    return parse


def _years(text: str) -> tuple[int, int]:
    try:
        return parse_years(text)
    except ApplicationError as error:
        raise argparse.ArgumentTypeError(error.message) from None


class Command(TaocunCommand):
    help = (
        "Write a synthetic sales ledger (divisions, shops, orders) for real division codes, "
        "in the interchange formats. Deterministic by seed; the database is not touched."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--out", required=True, metavar="DIR", help="folder to write into")
        parser.add_argument(
            "--orders", type=_count(0), default=1_000_000, metavar="N", help="default 1,000,000"
        )
        parser.add_argument(
            "--shops", type=_count(1), metavar="N", help="default: one shop per 50 orders"
        )
        parser.add_argument(
            "--villages",
            default="all",
            metavar="all|N|CODE|PREFIX*",
            help="all villages (default); N villages (whole counties, by the seed); the "
            "villages below a 12-digit division code; or a code prefix ending in * (3307*)",
        )
        parser.add_argument(
            "--divisions",
            metavar="FILE",
            help="divisions file (default: the national 2016 table in shared/data when "
            "present, else the demo slice)",
        )
        parser.add_argument(
            "--years", type=_years, default=(2014, 2022), metavar="FIRST-LAST", help="2014-2022"
        )
        parser.add_argument("--seed", type=_count(0), default=1, metavar="S", help="default 1")
        parser.add_argument("--format", choices=FORMATS, default="parquet", dest="file_format")
        parser.add_argument(
            "--household-ids",
            action="store_true",
            help="fill household_id with invented household numbers (village code + 5 "
            "digits); they are not ids of a household registry, so a platform database "
            "import refuses them",
        )
        parser.add_argument(
            "--product-line",
            choices=[line.name for line in economy.PRODUCT_LINES],
            metavar="LINE",
            help="every township sells this line (apparel, furniture, produce, handicrafts) "
            "instead of a drawn one",
        )
        parser.add_argument(
            "--price-scale",
            type=float,
            default=1.0,
            metavar="X",
            help="multiply every shop's price level (default 1)",
        )
        parser.add_argument(
            "--shop-sigma",
            type=float,
            default=economy.SHOP_SIGMA,
            metavar="S",
            help=f"log-normal spread of shop sizes (default {economy.SHOP_SIGMA}); lower: "
            "fewer tiny shops, more that sell every month",
        )
        parser.add_argument(
            "--history-years",
            type=float,
            default=economy.HISTORY_YEARS,
            metavar="Y",
            help=f"shops may have opened up to Y years before the first year (default "
            f"{economy.HISTORY_YEARS}); longer: a mature place, shorter: a booming one",
        )
        parser.add_argument(
            "--overwrite", action="store_true", help="replace data generated before in DIR"
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="no progress bar on standard error"
        )

    def handle(self, *args, **options) -> None:
        summary = synth_generate(
            out=options["out"],
            orders=options["orders"],
            shops=options["shops"],
            villages=options["villages"],
            divisions=options["divisions"],
            years=options["years"],
            seed=options["seed"],
            file_format=options["file_format"],
            household_ids=options["household_ids"],
            overwrite=options["overwrite"],
            product_line=options["product_line"],
            price_scale=options["price_scale"],
            shop_sigma=options["shop_sigma"],
            history_years=options["history_years"],
            progress=not options["no_progress"],
        )
        self.stdout.write(
            _(
                "%(out)s: %(orders)s orders of %(shops)s shops in %(with)s of %(villages)s "
                "villages, %(first)s-%(last)s, in %(seconds).1f s (%(rate)s orders/s)"
            )
            % {
                "out": summary.out,
                "orders": f"{summary.orders:,}",
                "shops": f"{summary.shops:,}",
                "with": f"{summary.villages_with_shops:,}",
                "villages": f"{summary.villages:,}",
                "first": summary.first_year,
                "last": summary.last_year,
                "seconds": summary.seconds,
                "rate": f"{summary.orders_per_second:,.0f}",
            }
        )
        if summary.households_invented:
            self.stdout.write(
                _(
                    "Note: the households counts of %(count)s villages are invented "
                    "(see synth.json); do not import them as real figures."
                )
                % {"count": f"{summary.households_invented:,}"}
            )

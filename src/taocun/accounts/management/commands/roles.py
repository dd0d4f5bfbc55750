"""``taocun roles grant|revoke|list``: give and take roles from the command line.

Thin: it finds the user and the scope, then calls :func:`taocun.accounts.services.role_grant`
or :func:`~taocun.accounts.services.role_revoke`, which validate and audit (actor ``cli``).
Errors become a clean message and exit code 2 in :class:`taocun.core.commands.TaocunCommand`.
"""

from django.utils.translation import gettext as _

from taocun.accounts import selectors, services
from taocun.accounts.models import Role
from taocun.core.commands import TaocunCommand
from taocun.regions.selectors import division_get

ROLE_HELP = "one of: " + ", ".join(Role.values)


class Command(TaocunCommand):
    help = "Grant, revoke or list the roles of accounts (by phone number)."

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{grant,revoke,list}")
        for name, text in (
            ("grant", "Give an account a role; officers and agents need --region."),
            ("revoke", "Take a role (with the scope it was given for) away from an account."),
        ):
            action = actions.add_parser(name, help=text, description=text)
            action.add_argument("phone", help="the account's mainland mobile number")
            action.add_argument("role", help=ROLE_HELP)
            action.add_argument(
                "--region",
                metavar="CODE",
                help="12-digit division code of the scope: a county for an officer, a "
                "township or village for a station agent",
            )
        listing = actions.add_parser(
            "list",
            help="List role grants, of one account or of all.",
            description="List role grants: phone, role and scope, one per line.",
        )
        listing.add_argument("phone", nargs="?", help="only this account")

    def handle(self, *args, action: str, **options) -> None:
        if action == "list":
            self._list(options["phone"])
            return
        user = selectors.user_get_by_phone(phone=options["phone"])
        region = division_get(code=options["region"]) if options["region"] else None
        role = options["role"]
        values = {"phone": user.phone, "role": role}
        if action == "grant":
            region = services.role_grant(actor="cli", user=user, role=role, region=region).region
            message = (
                _("%(phone)s now holds the %(role)s role for %(name)s (%(code)s).")
                if region
                else _("%(phone)s now holds the %(role)s role.")
            )
        else:
            services.role_revoke(actor="cli", user=user, role=role, region=region)
            region = region if role in services.ROLE_SCOPE_LEVELS else None
            message = (
                _("%(phone)s no longer holds the %(role)s role for %(name)s (%(code)s).")
                if region
                else _("%(phone)s no longer holds the %(role)s role.")
            )
        if region:
            values |= {"name": region.name, "code": region.code}
        self.stdout.write(message % values)

    def _list(self, phone: str | None) -> None:
        user = selectors.user_get_by_phone(phone=phone) if phone else None
        grants = list(selectors.role_grants_list(user=user))
        if not grants:
            self.stdout.write(_("No role grants."))
        for grant in grants:
            scope = f"{grant.region.code} {grant.region.name}" if grant.region else "-"
            self.stdout.write(f"{grant.user.phone}\t{grant.role}\t{scope}")

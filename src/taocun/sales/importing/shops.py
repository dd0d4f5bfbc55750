"""The shops import: ``platform,shop_id,village_code,opened_at`` + ``kind,household_id,closed_at``.

Upsert by ``(platform, shop_id)``. A shop whose village changes is moved, and the move is
kept as a :class:`~taocun.sales.models.ShopMove` (source: the file's name), so a village
losing shops between two rounds can be explained. Optional columns the file does not carry
are left alone on existing shops.
"""

from django.db import connection
from django.utils.translation import gettext as _

from taocun.core.errors import RowError
from taocun.core.tabular import NOT_UTF8, is_postgresql
from taocun.regions.codes import is_valid_code, level_of_code
from taocun.regions.models import Level
from taocun.sales.importing.pipeline import StagedImport, UpsertCounts, staged_instant_converter
from taocun.sales.models import ShopKind
from taocun.sales.validation import (
    BadValue,
    key_from_text,
    platform_from_text,
    utc_from_text,
)

KINDS = tuple(ShopKind.values)


class ShopsImport(StagedImport):
    kind = "shops"
    audit_action = "sales.shops_import"
    audit_object_type = "sales.shop"
    required = ("platform", "shop_id", "village_code", "opened_at")
    optional = ("kind", "household_id", "closed_at")
    staging_table = "sales_shop_import"
    staging_columns = (
        "line",
        "platform",
        "shop_id",
        "village_code",
        "opened_at",
        "closed_at",
        "kind",
        "household_id",
    )
    staging_pg_types = (
        "int4",
        "varchar",
        "varchar",
        "varchar",
        "timestamptz",
        "timestamptz",
        "varchar",
        "int8",
    )
    staging_key = ("platform", "shop_id")
    key_field = "shop_id"

    def staging_definition(self) -> str:
        instant = "timestamptz" if is_postgresql() else "text"
        return (
            "line integer NOT NULL, platform varchar(20) NOT NULL, shop_id varchar(64) NOT NULL,"
            f" village_code varchar(12), opened_at {instant}, closed_at {instant},"
            " kind varchar(10), household_id bigint"
        )

    def duplicate_reason(self, first_line: int) -> str:
        return _("duplicate shop: also on line %(line)d") % {"line": first_line}

    def prepare(self) -> None:
        self.instant_value = staged_instant_converter()

    def check_row(self, line: int, values: list[str]) -> tuple | None:
        if NOT_UTF8.search("".join(values)):
            self.report_not_utf8(line, values)
            return None
        platform, shop_id, village_code, opened_at, kind, household_id, closed_at = (
            value.strip() for value in values
        )
        errors = self.errors
        ok = True

        def bad(field: str, reason: str, value: str) -> None:
            nonlocal ok
            ok = False
            errors.add(RowError(line=line, field=field, reason=reason, value=value))

        try:
            platform_from_text(platform)
        except BadValue as error:
            bad("platform", error.reason, platform)
        try:
            key_from_text(shop_id, what="shop")
        except BadValue as error:
            bad("shop_id", error.reason, shop_id)
        keyed = ok  # a row with a usable key is staged, so duplicates are still found
        village = None
        if not is_valid_code(village_code):
            bad("village_code", _("not a 12-digit division code"), village_code)
        elif level_of_code(village_code) != Level.VILLAGE:
            bad(
                "village_code",
                _("not a village-level code (it is a %(level)s code)")
                % {"level": Level(level_of_code(village_code)).label},
                village_code,
            )
        else:
            village = village_code
        opened = closed = None
        try:
            opened = utc_from_text(opened_at)
        except BadValue as error:
            bad("opened_at", error.reason, opened_at)
        if closed_at:
            try:
                closed = utc_from_text(closed_at)
            except BadValue as error:
                bad("closed_at", error.reason, closed_at)
            else:
                if opened is not None and closed < opened:
                    bad("closed_at", _("before opened_at"), closed_at)
        if kind and kind not in KINDS:
            bad("kind", _("expected personal, enterprise or empty"), kind)
        household = None
        if household_id:
            if household_id.isascii() and household_id.isdigit() and 0 < int(household_id) < 2**63:
                household = int(household_id)
            else:
                bad("household_id", _("expected a household number"), household_id)
        if not keyed:
            return None
        if not ok:
            return (line, platform, shop_id, None, None, None, None, None)
        return (
            line,
            platform,
            shop_id,
            village,
            self.instant_value(opened),
            self.instant_value(closed) if closed is not None else None,
            kind or ShopKind.PERSONAL,
            household,
        )

    def check_staged(self) -> None:
        table = self.staging_table
        self.fetch_errors(
            f"SELECT s.line, s.village_code, d.level FROM {table} s"
            " LEFT JOIN regions_division d ON d.code = s.village_code"
            " WHERE s.village_code IS NOT NULL AND (d.code IS NULL OR d.level <> %s)",
            [Level.VILLAGE],
            lambda row: RowError(
                line=row[0],
                field="village_code",
                value=row[1],
                reason=_("unknown village code (import the divisions first)")
                if row[2] is None
                else _("not a village in the division table (it is a %(level)s)")
                % {"level": Level(row[2]).label if row[2] in Level.values else row[2]},
            ),
        )
        self.fetch_errors(
            f"SELECT s.line, s.household_id, h.village_id FROM {table} s"
            " LEFT JOIN regions_household h ON h.id = s.household_id"
            " WHERE s.household_id IS NOT NULL"
            " AND (h.id IS NULL OR h.village_id <> s.village_code)",
            [],
            lambda row: RowError(
                line=row[0],
                field="household_id",
                value=str(row[1]),
                reason=_("unknown household")
                if row[2] is None
                else _("the household belongs to village %(code)s") % {"code": row[2]},
            ),
        )
        if "closed_at" not in self.columns:
            # The file keeps each shop's closing time: a new opening time must not pass it.
            self.fetch_errors(
                f"SELECT s.line, s.opened_at FROM {table} s JOIN sales_shop sh"
                " ON sh.platform = s.platform AND sh.shop_id = s.shop_id"
                " WHERE sh.closed_at IS NOT NULL AND sh.closed_at < s.opened_at",
                [],
                lambda row: RowError(
                    line=row[0],
                    field="opened_at",
                    value=str(row[1]),
                    reason=_("after the shop's closing time in the database"),
                ),
            )

    def upsert(self) -> UpsertCounts:
        table = self.staging_table
        now = self.db_now()
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO sales_shopmove (shop_id, from_code, to_code, recorded_at, source)"
                f" SELECT sh.id, sh.village_code, s.village_code, %s, %s FROM {table} s"
                " JOIN sales_shop sh ON sh.platform = s.platform AND sh.shop_id = s.shop_id"
                " WHERE sh.village_code <> s.village_code ORDER BY s.line",
                [now, self.path.name[:200]],
            )
            moved = cursor.rowcount
        updated = ["village_code", "opened_at"]
        updated += [name for name in ("kind", "household_id", "closed_at") if name in self.columns]
        differs = self.differs()
        names = "platform, shop_id, village_code, opened_at, closed_at, kind, household_id"
        sql = (
            f"INSERT INTO sales_shop ({names}, created_at, updated_at)"
            f" SELECT {names}, %s, %s FROM {table} WHERE true"
            " ON CONFLICT (platform, shop_id) DO UPDATE SET "
            + ", ".join(f"{name} = excluded.{name}" for name in updated)
            + ", updated_at = excluded.updated_at WHERE "
            + " OR ".join(f"sales_shop.{name} {differs} excluded.{name}" for name in updated)
        )
        counts = self.run_upsert(sql, [now, now], target="sales_shop")
        counts.extra["moved"] = moved
        return counts

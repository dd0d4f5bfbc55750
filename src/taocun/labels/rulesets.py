"""Rule sets: the label rules of one round, as a versioned TOML data file.

The rules of the Taobao-Village label changed from round to round (which platforms count,
the window, the town rules). Each round is one file in ``labels/rules/``, validated strictly
on load: a typo'd key, a missing key or an impossible value (a negative threshold, a share
above 1, an empty window, an unknown comparison) is a :class:`ValidationError` naming the
key and the file, never a silent default. A custom rule set is the same format at any path.

>>> rules = rule_set_load("aliresearch-2019")
>>> rules.window_for().cutoff
datetime.date(2019, 6, 30)
>>> rules.village_sales.needed(0)
1000000000
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import difflib
import hashlib
import math
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from taocun.core.chinatime import china_day_start
from taocun.core.errors import NotFound, ValidationError

RULES_DIR = Path(__file__).resolve().parent / "rules"
COMPARISONS = (">=", ">")
COMMITTEE_KINDS = ("village", "village_like", "residents", "residents_like")
HOUSEHOLD_BASES = ("shops_per_household", "households_with_shop")
# Generous ceilings that still catch a misplaced digit (a window of 1,200 months).
MAX_WINDOW_MONTHS = 120
MAX_WINDOW_DAYS = 3660
MAX_REQUIRED_ORDERS = 1000


@dataclass(frozen=True)
class Threshold:
    """``value comparison threshold``: inclusive (``>=``) or exclusive (``>``).

    Integer thresholds (fen, shops, villages) and fractional ones (shares) alike; the checks
    are exact (no floats), so a value exactly at the threshold passes ``>=`` and fails ``>``.
    """

    threshold: int | Fraction
    comparison: str = ">="

    def passes(self, value: int | Fraction) -> bool:
        return value >= self.threshold if self.comparison == ">=" else value > self.threshold

    def needed(self, scale: int = 1) -> int:
        """The least whole number that passes, for a threshold on ``value / scale``.

        For a share of households (``shops / households >= 0.1``) ``scale`` is the number of
        households: the least number of shops that passes.
        """
        bound = Fraction(self.threshold) * scale
        if self.comparison == ">=":
            return math.ceil(bound)
        return math.floor(bound) + 1

    @property
    def symbol(self) -> str:
        return "≥" if self.comparison == ">=" else ">"


@dataclass(frozen=True)
class Window:
    """The China-time days a round counts: ``start`` to ``cutoff``, both inclusive.

    The cut-off day runs to 23:59:59.999999 China time: the window ends at the instant the
    next China day begins (``end_at``, exclusive). Instants are aware datetimes in UTC.
    """

    start: dt.date
    cutoff: dt.date
    activity_start: dt.date

    @property
    def start_at(self) -> dt.datetime:
        return china_day_start(self.start).astimezone(dt.UTC)

    @property
    def end_at(self) -> dt.datetime:
        return china_day_start(self.cutoff + dt.timedelta(days=1)).astimezone(dt.UTC)

    @property
    def activity_start_at(self) -> dt.datetime:
        return china_day_start(self.activity_start).astimezone(dt.UTC)


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day of the month ``months`` earlier, clamped to the month's last day.

    Windows are anchored on the day *after* the cut-off (a first of the month when the
    cut-off is a month end), so 12 months before 2016-09-01 is 2015-09-01.
    """
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


@dataclass(frozen=True)
class RuleSet:
    """One round's rules. Built by :func:`rule_set_load`; see ``docs/labels.md``."""

    name: str
    version: str
    title: str
    round_year: int
    summary: str
    sources: tuple[str, ...]
    path: Path
    digest: str
    # window
    cutoff: dt.date
    window_months: int | None
    window_days: int | None
    # platforms
    counted_platforms: tuple[str, ...] | None  # None: every platform counts
    main_platforms: tuple[str, ...] | None
    main_min_share: Fraction | None
    main_or_largest: bool
    # eligibility
    committees: tuple[str, ...]
    rural_only: bool
    # active shop
    min_age_days: int
    min_monthly_orders: Fraction
    activity_months: int
    # village
    village_sales: Threshold
    village_active_shops: Threshold | None
    village_household_share: Threshold | None
    household_share_basis: str
    # town
    town_labeled_villages: Threshold
    town_sales: Threshold | None
    town_active_shops: Threshold | None
    # cluster
    cluster_villages: Threshold
    cluster_sales: Threshold
    cluster_large: Threshold
    cluster_super_large: Threshold
    cluster_max_distance_km: float
    shipped: bool = field(default=False, compare=False)

    def window_for(self, cutoff: dt.date | None = None) -> Window:
        """The window ending on ``cutoff`` (default: the rule set's own cut-off)."""
        cutoff = cutoff or self.cutoff
        after = cutoff + dt.timedelta(days=1)
        if self.window_months is not None:
            start = months_before(after, self.window_months)
        else:
            start = after - dt.timedelta(days=self.window_days or 0)
        return Window(
            start=start,
            cutoff=cutoff,
            activity_start=months_before(after, self.activity_months),
        )

    @property
    def required_orders(self) -> int:
        """Orders an active shop older than the activity window needs in that window."""
        return math.ceil(self.min_monthly_orders * self.activity_months)

    def counts(self, platform: str) -> bool:
        return self.counted_platforms is None or platform in self.counted_platforms

    def describe_window(self) -> str:
        if self.window_months is not None:
            return _("%(months)s months to %(cutoff)s") % {
                "months": self.window_months,
                "cutoff": self.cutoff.isoformat(),
            }
        return _("%(days)s days to %(cutoff)s") % {
            "days": self.window_days,
            "cutoff": self.cutoff.isoformat(),
        }


# --- loading --------------------------------------------------------------------------


def rule_sets_shipped() -> list[RuleSet]:
    """Every rule set shipped with taocun, by round then name."""
    found = [_load_path(path, shipped=True) for path in sorted(RULES_DIR.glob("*.toml"))]
    return sorted(found, key=lambda rules: (rules.round_year, rules.name))


def rule_set_load(name_or_path: str | Path) -> RuleSet:
    """A shipped rule set by name (``aliresearch-2019``), or a TOML file at a path."""
    text = str(name_or_path).strip()
    shipped = RULES_DIR / f"{text}.toml"
    if "/" not in text and "\\" not in text and not text.endswith(".toml"):
        if shipped.is_file():
            return _load_path(shipped, shipped=True)
        names = ", ".join(rules.name for rules in rule_sets_shipped())
        raise NotFound(
            _("No rule set named %(name)s (shipped: %(names)s; or give a path to a .toml file)")
            % {"name": text, "names": names},
            field="rules",
        )
    path = Path(text)
    if not path.is_file():
        raise NotFound(_("Rule-set file %(path)s not found") % {"path": text}, field="rules")
    return _load_path(path, shipped=False)


def _load_path(path: Path, *, shipped: bool) -> RuleSet:
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValidationError(
            _("The rule-set file is not UTF-8 text."), location=str(path), field="file"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ValidationError(
            _("Not valid TOML: %(error)s") % {"error": str(error)},
            location=str(path),
            field="file",
        ) from None
    rules = _build(_Section(data, "", str(path)), path=path, shipped=shipped)
    return dataclasses.replace(rules, digest=hashlib.sha256(raw).hexdigest())


class _Section:
    """A TOML table read key by key; whatever is left over at the end is a typo."""

    def __init__(self, data: Any, prefix: str, location: str) -> None:
        self.prefix = prefix
        self.location = location
        if not isinstance(data, dict):
            self.fail(prefix.rstrip(".") or "file", _("expected a table"))
        self.data = dict(data)

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def fail(self, key: str, message: str) -> None:
        # Shown as "FILE, KEY: message" (ApplicationError.__str__).
        raise ValidationError(message, field=key, location=self.location)

    def has(self, name: str) -> bool:
        return name in self.data

    def take(self, name: str, kind: type | tuple[type, ...], *, required: bool = True) -> Any:
        if name not in self.data:
            typo = difflib.get_close_matches(name, list(self.data), n=1, cutoff=0.75)
            if typo:
                self.fail(
                    self.key(typo[0]),
                    _("unknown key (did you mean %(name)s?)") % {"name": name},
                )
            if required:
                self.fail(self.key(name), _("required key missing"))
            return None
        value = self.data.pop(name)
        kinds = kind if isinstance(kind, tuple) else (kind,)
        wrong_bool = isinstance(value, bool) and bool not in kinds
        wrong_datetime = isinstance(value, dt.datetime) and dt.datetime not in kinds
        if wrong_bool or wrong_datetime or not isinstance(value, kinds):
            expected = " / ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
            self.fail(
                self.key(name),
                _("expected %(expected)s, got %(value)r") % {"expected": expected, "value": value},
            )
        return value

    def section(self, name: str, *, required: bool = True) -> _Section | None:
        value = self.take(name, dict, required=required)
        return None if value is None else _Section(value, self.key(name) + ".", self.location)

    def finish(self) -> None:
        for name in self.data:
            self.fail(self.key(name), _("unknown key (is it misspelt?)"))


_TYPE_NAMES = {
    str: "text",
    int: "a whole number",
    float: "a number",
    bool: "true/false",
    list: "a list",
    dict: "a table",
    dt.date: "a date (YYYY-MM-DD)",
}


def _count(section: _Section, name: str, *, minimum: int = 0, required: bool = True) -> int | None:
    value = section.take(name, int, required=required)
    if value is not None and value < minimum:
        section.fail(
            section.key(name),
            _("must be at least %(minimum)s, got %(value)s") % {"minimum": minimum, "value": value},
        )
    return value


def _fraction(section: _Section, name: str, *, maximum: Fraction | None = None) -> Fraction:
    value = section.take(name, (int, float))
    if isinstance(value, float) and not math.isfinite(value):
        section.fail(section.key(name), _("must be a finite number"))
    exact = Fraction(Decimal(repr(value)))
    if exact < 0:
        section.fail(section.key(name), _("must not be negative, got %(value)s") % {"value": value})
    if maximum is not None and exact > maximum:
        section.fail(
            section.key(name),
            _("must be at most %(maximum)s, got %(value)s") % {"maximum": maximum, "value": value},
        )
    return exact


def _threshold(section: _Section, name: str, *, unit: str, required: bool = True):
    """``{comparison = ">=", threshold[_fen] = N}``; unit is ``count``, ``fen`` or ``share``."""
    table = section.section(name, required=required)
    if table is None:
        return None
    comparison = table.take("comparison", str)
    if comparison not in COMPARISONS:
        table.fail(
            table.key("comparison"),
            _('unknown comparison %(value)r (use ">=" or ">")') % {"value": comparison},
        )
    if unit == "share":
        value: int | Fraction = _fraction(table, "threshold", maximum=Fraction(1))
        if comparison == ">" and value == 1:
            table.fail(table.key("threshold"), _("a share cannot be more than 1"))
    else:
        value = _count(table, "threshold_fen" if unit == "fen" else "threshold")
    extra = table.take("basis", str, required=False) if unit == "share" else None
    table.finish()
    return (
        (Threshold(value, comparison), extra) if unit == "share" else Threshold(value, comparison)
    )


def _platforms(section: _Section, name: str, *, required: bool) -> tuple[str, ...] | None:
    value = section.take(name, (str, list), required=required)
    if value is None or value == "all":
        return None
    if isinstance(value, str):
        section.fail(section.key(name), _('expected a list of platforms or "all"'))
    if not value or not all(isinstance(item, str) and item.strip() for item in value):
        section.fail(section.key(name), _("expected a non-empty list of platform names"))
    cleaned = tuple(item.strip().lower() for item in value)
    if len(set(cleaned)) != len(cleaned):
        section.fail(section.key(name), _("a platform is listed twice"))
    return cleaned


def _build(top: _Section, *, path: Path, shipped: bool) -> RuleSet:
    name = top.take("name", str).strip()
    if not name or len(name) > 60 or not all(c.isalnum() or c in "-_." for c in name):
        top.fail("name", _("use 1-60 letters, digits, '-', '_' or '.'"))
    version = top.take("version", str).strip()
    if not version or len(version) > 20:
        top.fail("version", _("use 1-20 characters"))
    title = top.take("title", str).strip()
    round_year = _count(top, "round", minimum=2000)
    summary = (top.take("summary", str, required=False) or "").strip()
    sources = top.take("sources", list)
    if not sources or not all(isinstance(s, str) and s.strip() for s in sources):
        top.fail("sources", _("list at least one source, as text"))

    window = top.section("window")
    cutoff = window.take("cutoff", dt.date)
    months = _count(window, "months", minimum=1, required=False)
    days = _count(window, "days", minimum=1, required=False)
    start = window.take("start", dt.date, required=False)
    if sum(value is not None for value in (months, days, start)) != 1:
        window.fail("window", _("give exactly one of months, days or start"))
    if start is not None:
        if start > cutoff:
            window.fail(window.key("start"), _("the window starts after its cut-off"))
        after = cutoff + dt.timedelta(days=1)
        whole = [m for m in range(1, MAX_WINDOW_MONTHS + 1) if months_before(after, m) == start]
        if whole:
            months = whole[0]
        else:
            days = (after - start).days
    if months is not None and months > MAX_WINDOW_MONTHS:
        window.fail(window.key("months"), _("at most %(n)s") % {"n": MAX_WINDOW_MONTHS})
    if days is not None and days > MAX_WINDOW_DAYS:
        window.fail(window.key("days"), _("at most %(n)s") % {"n": MAX_WINDOW_DAYS})
    window.finish()

    platforms = top.section("platforms")
    counted = _platforms(platforms, "counted", required=True)
    main = _platforms(platforms, "main", required=False)
    main_min_share = (
        _fraction(platforms, "main_min_share", maximum=Fraction(1))
        if platforms.has("main_min_share")
        else None
    )
    main_or_largest = bool(platforms.take("main_or_largest", bool, required=False))
    if main is not None and main_min_share is None and not main_or_largest:
        platforms.fail(
            platforms.key("main"), _("say how it is main: main_min_share and/or main_or_largest")
        )
    if main is None and (main_min_share is not None or main_or_largest):
        platforms.fail(platforms.key("main"), _("required with main_min_share/main_or_largest"))
    if main is not None and counted is not None and not set(main) <= set(counted):
        platforms.fail(platforms.key("main"), _("a main platform must also be counted"))
    platforms.finish()

    eligibility = top.section("eligibility")
    committees = eligibility.take("committees", list)
    if not committees or any(kind not in COMMITTEE_KINDS for kind in committees):
        eligibility.fail(
            eligibility.key("committees"),
            _("use a non-empty list of: %(kinds)s") % {"kinds": ", ".join(COMMITTEE_KINDS)},
        )
    rural_only = eligibility.take("rural_only", bool)
    eligibility.finish()

    active = top.section("active_shop")
    min_age_days = _count(active, "min_age_days")
    min_monthly_orders = _fraction(active, "min_monthly_orders")
    activity_months = _count(active, "months", minimum=1)
    if activity_months > MAX_WINDOW_MONTHS:
        active.fail(active.key("months"), _("at most %(n)s") % {"n": MAX_WINDOW_MONTHS})
    if min_monthly_orders * activity_months > MAX_REQUIRED_ORDERS:
        active.fail(
            active.key("min_monthly_orders"),
            _("more than %(n)s orders over the window is not plausible")
            % {"n": MAX_REQUIRED_ORDERS},
        )
    active.finish()

    village = top.section("village")
    village_sales = _threshold(village, "sales", unit="fen")
    village_shops = _threshold(village, "active_shops", unit="count", required=False)
    share = _threshold(village, "household_share", unit="share", required=False)
    village_share, basis = share if share else (None, None)
    basis = basis or "shops_per_household"
    if basis not in HOUSEHOLD_BASES:
        village.fail(
            village.key("household_share.basis"),
            _("unknown basis %(value)r (use %(bases)s)")
            % {"value": basis, "bases": ", ".join(HOUSEHOLD_BASES)},
        )
    if village_shops is None and village_share is None:
        village.fail(village.key("active_shops"), _("give active_shops, household_share or both"))
    village.finish()

    town = top.section("town")
    town_villages = _threshold(town, "labeled_villages", unit="count")
    town_sales = _threshold(town, "sales", unit="fen", required=False)
    town_shops = _threshold(town, "active_shops", unit="count", required=False)
    if (town_sales is None) != (town_shops is None):
        town.fail(town.key("sales"), _("the town sales and active_shops rules go together"))
    town.finish()

    cluster = top.section("cluster")
    cluster_villages = _threshold(cluster, "villages", unit="count")
    cluster_sales = _threshold(cluster, "sales", unit="fen")
    large = _threshold(cluster, "large", unit="count")
    super_large = _threshold(cluster, "super_large", unit="count")
    distance = cluster.take("max_distance_km", (int, float))
    if not math.isfinite(distance) or not 0 < distance <= 100:
        cluster.fail(cluster.key("max_distance_km"), _("must be more than 0 and at most 100"))
    if not cluster_villages.needed() <= large.needed() <= super_large.needed():
        cluster.fail(cluster.key("large"), _("sizes must grow: villages ≤ large ≤ super_large"))
    if cluster_villages.needed() < 2:
        cluster.fail(cluster.key("villages"), _("a cluster has at least 2 villages"))
    cluster.finish()
    top.finish()

    return RuleSet(
        name=name,
        version=version,
        title=title,
        round_year=round_year,
        summary=summary,
        sources=tuple(s.strip() for s in sources),
        path=path,
        digest="",
        cutoff=cutoff,
        window_months=months,
        window_days=days,
        counted_platforms=counted,
        main_platforms=main,
        main_min_share=main_min_share,
        main_or_largest=main_or_largest,
        committees=tuple(committees),
        rural_only=rural_only,
        min_age_days=min_age_days,
        min_monthly_orders=min_monthly_orders,
        activity_months=activity_months,
        village_sales=village_sales,
        village_active_shops=village_shops,
        village_household_share=village_share,
        household_share_basis=basis,
        town_labeled_villages=town_villages,
        town_sales=town_sales,
        town_active_shops=town_shops,
        cluster_villages=cluster_villages,
        cluster_sales=cluster_sales,
        cluster_large=large,
        cluster_super_large=super_large,
        cluster_max_distance_km=float(distance),
        shipped=shipped,
    )

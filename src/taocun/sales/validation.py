"""The value rules of the sales ledger, shared by the imports and the services.

Each parser returns the value or raises :class:`BadValue` with a reason for people; the
callers attach the field and line.

>>> fen_from_yuan("1234.5"), fen_from_yuan("1,234.50"), fen_from_yuan("¥12")
(123450, 123450, 1200)
>>> instant_from_text("2016-11-11 00:30").isoformat()  # no offset: China time
'2016-11-10T16:30:00+00:00'
"""

import re
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from django.utils.translation import gettext as _

from taocun.core.chinatime import parse_instant
from taocun.core.errors import ValidationError
from taocun.core.money import Money

PLATFORM_MAX_LENGTH = 20
KEY_MAX_LENGTH = 64
# A platform is a lowercase slug (taobao, tmall, 1688, xianyu, aliexpress, jd, douyin, ...):
# new platforms need no code change, but "Taobao " or "淘宝" are refused, so one platform
# never ends up under two names.
_PLATFORM = re.compile(r"[a-z0-9][a-z0-9_-]{0,19}")  # PLATFORM_MAX_LENGTH
_CURRENCY = re.compile(r"[A-Z]{3}")
_PLAIN_YUAN = re.compile(r"(\d{1,16})(?:\.(\d{1,2}))?")
_MANY_DECIMALS = re.compile(r"[+-]?¥?[\d,]*\.\d{3,}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

EARLIEST_YEAR, LATEST_YEAR = 1990, 2099
_EARLIEST = datetime(EARLIEST_YEAR, 1, 1)  # naive UTC bounds
_LATEST = datetime(LATEST_YEAR + 1, 1, 1)
_CHINA_OFFSET = timedelta(hours=8)
_CHINA_FIXED_SINCE = datetime(1992, 1, 1)

# Fast forms for bulk imports: the common, unambiguous spellings, checked without a
# function call per field. Anything else goes through the full parsers below, which accept
# more and give the same values, so the fast forms only save time.
PLATFORM_PATTERN = _PLATFORM
PLAIN_YUAN_PATTERN = _PLAIN_YUAN
_KEY_CHAR = r"[^\x00-\x1f\x7f\udc80-\udcff]"
_KEY_EDGE = r"[^\s\x00-\x1f\x7f\udc80-\udcff]"
SIMPLE_KEY_PATTERN = re.compile(f"{_KEY_EDGE}(?:{_KEY_CHAR}{{0,{KEY_MAX_LENGTH - 2}}}{_KEY_EDGE})?")

RATE_MAX_DECIMALS = 8
RATE_MAX_WHOLE_DIGITS = 10  # CurrencyRate.cny_per_unit is decimal(18, 8)


class BadValue(ValueError):
    """A value breaks a ledger rule; ``reason`` says which, in the user's language."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def platform_from_text(text: str) -> str:
    if not text:
        raise BadValue(_("the platform is required"))
    if not _PLATFORM.fullmatch(text):
        raise BadValue(
            _(
                "not a platform name: lowercase letters, digits, - or _, at most %(max)d "
                "characters (e.g. taobao, tmall, 1688)"
            )
            % {"max": PLATFORM_MAX_LENGTH}
        )
    return text


def key_from_text(text: str, *, what: str) -> str:
    """A shop or order id (``what`` is ``"shop"`` or ``"order"``): 1 to 64 characters, no
    control characters."""
    if not text:
        label = _("the shop id is required") if what == "shop" else _("the order id is required")
        raise BadValue(label)
    if len(text) > KEY_MAX_LENGTH:
        raise BadValue(_("longer than %(max)d characters") % {"max": KEY_MAX_LENGTH})
    if _CONTROL.search(text):
        raise BadValue(_("contains control characters"))
    return text


def utc_from_text(text: str) -> datetime:
    """ISO 8601 (``2016-11-11T10:30:00+08:00``, ``2016-11-11 10:30``, ``2016-11-11``) as a
    *naive UTC* datetime, the fast form for bulk imports; a time without an offset is China
    time (the semantics of :func:`taocun.core.chinatime.parse_instant`)."""
    if not text:
        raise BadValue(_("the time is required"))
    try:
        value = datetime.fromisoformat(text)
        if value.tzinfo is not None:
            value = (value - value.utcoffset()).replace(tzinfo=None)
        elif value >= _CHINA_FIXED_SINCE:
            value -= _CHINA_OFFSET  # UTC+8 all year: no zone lookup per row
        else:  # China had summer time from 1986 to 1991
            value = parse_instant(text).astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise BadValue(
            _("not an ISO 8601 time (e.g. 2016-11-11T10:30:00+08:00; no offset means China time)")
        ) from None
    if not _EARLIEST <= value < _LATEST:
        raise BadValue(
            _("outside the years %(first)d to %(last)d")
            % {"first": EARLIEST_YEAR, "last": LATEST_YEAR}
        )
    return value


def simple_utc(text: str) -> datetime | None:
    """:func:`utc_from_text` for a well-formed time after 1991; ``None`` for anything else
    (then call :func:`utc_from_text` for the answer or the reason)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        if value < _CHINA_FIXED_SINCE:
            return None
        value -= _CHINA_OFFSET
    else:
        try:
            value = (value - value.utcoffset()).replace(tzinfo=None)
        except OverflowError:
            return None
    return value if _EARLIEST <= value < _LATEST else None


def instant_from_text(text: str) -> datetime:
    """Like :func:`utc_from_text`, as an aware UTC datetime."""
    return utc_from_text(text).replace(tzinfo=UTC)


def aware_instant(value: datetime, *, field: str) -> datetime:
    """For services: an aware datetime within the ledger's years, in UTC."""
    if value.tzinfo is None:
        raise ValidationError(_("a time without a time zone is ambiguous"), field=field)
    try:
        return instant_from_text(value.isoformat())
    except BadValue as bad:
        raise ValidationError(bad.reason, field=field) from None


def fen_from_yuan(text: str) -> int:
    """An amount in yuan (``Money.parse`` semantics: ``1234.5``, ``1,234.50``, ``¥12``) as
    fen; negative amounts and more than 2 decimals are refused, never rounded."""
    if not text:
        raise BadValue(_("the amount is required"))
    match = _PLAIN_YUAN.fullmatch(text)
    if match:  # the common case, without Decimal
        return fen_from_plain(match)
    try:
        fen = Money.parse(text).amount_fen
    except ValidationError:
        if _MANY_DECIMALS.fullmatch(text):
            raise BadValue(_("more than 2 decimals")) from None
        raise BadValue(_("not an amount in yuan (e.g. 1234.50)")) from None
    if fen < 0:
        raise BadValue(_("negative amount"))
    return fen


def fen_from_plain(match: re.Match) -> int:
    """Fen from a match of :data:`PLAIN_YUAN_PATTERN` (``12``, ``12.3``, ``12.30``)."""
    whole, decimals = match.groups()
    if not decimals:
        return int(whole) * 100
    return int(whole) * 100 + int(decimals) * (10 if len(decimals) == 1 else 1)


def currency_from_text(text: str) -> str:
    """An ISO 4217 code; empty means CNY. Lowercase is accepted and upper-cased."""
    if not text:
        return "CNY"
    code = text.upper()
    if not _CURRENCY.fullmatch(code):
        raise BadValue(_("not an ISO 4217 currency code (e.g. CNY, USD)"))
    return code


def date_from_text(text: str) -> date:
    if not text:
        raise BadValue(_("the date is required"))
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise BadValue(_("not an ISO 8601 date (e.g. 2016-01-01)")) from None
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise BadValue(
            _("outside the years %(first)d to %(last)d")
            % {"first": EARLIEST_YEAR, "last": LATEST_YEAR}
        )
    return value


def rate_from_text(text: str) -> Decimal:
    """CNY per unit of a currency: a positive decimal, at most 8 decimals and 10 whole
    digits (stored exactly)."""
    if not text:
        raise BadValue(_("the rate is required"))
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise BadValue(_("not a decimal number (e.g. 6.8974)"))
    if value <= 0:
        raise BadValue(_("a rate must be above 0"))
    if value >= Decimal(10) ** RATE_MAX_WHOLE_DIGITS:
        raise BadValue(_("too large"))
    step = Decimal(1).scaleb(-RATE_MAX_DECIMALS)
    if value != value.quantize(step, rounding=ROUND_DOWN):
        raise BadValue(_("more than %(max)d decimals") % {"max": RATE_MAX_DECIMALS})
    return value.quantize(step)

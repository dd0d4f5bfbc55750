"""China time (Asia/Shanghai, UTC+8, no daylight saving) for instants stored in UTC.

Sales are stored as UTC instants; years, dates and evaluation rounds are counted in
China time, so an order paid at 2016-12-31T17:00Z belongs to 2017.

>>> from datetime import datetime, UTC
>>> china_year(datetime(2016, 12, 31, 17, 0, tzinfo=UTC))
2017
"""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

CHINA_TZ = ZoneInfo("Asia/Shanghai")


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("a naive datetime is not an instant; attach a time zone first")
    return instant


def china_datetime(instant: datetime) -> datetime:
    return _aware(instant).astimezone(CHINA_TZ)


def china_date(instant: datetime) -> date:
    return china_datetime(instant).date()


def china_year(instant: datetime) -> int:
    return china_datetime(instant).year


def china_round(instant: datetime, *, cutoff_month: int = 12, cutoff_day: int = 31) -> int:
    """The round an instant counts in, when each round's window ends on a yearly cut-off.

    A round named Y covers the year up to and including its cut-off day in year Y (China
    time); later instants belong to round Y+1. With the default cut-off (31 December) the
    round is the calendar year.
    """
    local = china_date(instant)
    cutoff = date(local.year, cutoff_month, cutoff_day)
    return local.year if local <= cutoff else local.year + 1


def china_day_start(day: date) -> datetime:
    """The instant (aware, China time) at which a China-time day begins."""
    return datetime.combine(day, time.min, tzinfo=CHINA_TZ)


def parse_instant(text: str) -> datetime:
    """Parse ISO 8601; a time without an offset is China time."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=CHINA_TZ)
    return value

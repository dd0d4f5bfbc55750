from datetime import UTC, date, datetime

import pytest

from taocun.core.chinatime import (
    china_date,
    china_day_start,
    china_round,
    china_year,
    parse_instant,
)


def test_new_year_in_china_comes_eight_hours_before_utc():
    instant = datetime(2016, 12, 31, 16, 0, tzinfo=UTC)
    assert china_year(instant) == 2017
    assert china_date(instant) == date(2017, 1, 1)
    assert china_year(datetime(2016, 12, 31, 15, 59, 59, tzinfo=UTC)) == 2016


def test_naive_instants_are_refused():
    with pytest.raises(ValueError):
        china_year(datetime(2016, 1, 1))


def test_round_with_a_june_cutoff():
    # 2020-06-30 23:30 China time is still in the 2020 round; 2020-07-01 00:00 starts 2021.
    assert (
        china_round(datetime(2020, 6, 30, 15, 30, tzinfo=UTC), cutoff_month=6, cutoff_day=30)
        == 2020
    )
    assert (
        china_round(datetime(2020, 6, 30, 16, 0, tzinfo=UTC), cutoff_month=6, cutoff_day=30) == 2021
    )
    assert china_round(datetime(2020, 3, 1, tzinfo=UTC)) == 2020


def test_parse_instant_without_offset_is_china_time():
    assert parse_instant("2016-08-31T23:00:00") == datetime(2016, 8, 31, 15, 0, tzinfo=UTC)
    assert parse_instant("2016-08-31T23:00:00+00:00") == datetime(2016, 8, 31, 23, 0, tzinfo=UTC)
    assert china_day_start(date(2017, 1, 1)) == datetime(2016, 12, 31, 16, 0, tzinfo=UTC)

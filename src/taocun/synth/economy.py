"""The invented economy behind ``taocun synth``: platforms, product lines, calendars.

Every number here is a modelling choice, not a statistic; ``docs/synth.md`` explains each
one and what public fact, if any, it imitates. The generator only reads these tables, so a
change of calibration is a change of this module alone.
"""

from dataclasses import dataclass
from datetime import date

import numpy as np

# Years the calendars below know (Spring Festival dates are tabulated, not computed).
FIRST_YEAR = 2009
LAST_YEAR = 2030
# Shops may have opened this many years before the first year of orders: the ledger then
# starts with shops already trading instead of a whole country opening on 1 January.
HISTORY_YEARS = 3

# 春节 (first day of the lunar year), China time.
SPRING_FESTIVAL = {
    2006: date(2006, 1, 29),
    2007: date(2007, 2, 18),
    2008: date(2008, 2, 7),
    2009: date(2009, 1, 26),
    2010: date(2010, 2, 14),
    2011: date(2011, 2, 3),
    2012: date(2012, 1, 23),
    2013: date(2013, 2, 10),
    2014: date(2014, 1, 31),
    2015: date(2015, 2, 19),
    2016: date(2016, 2, 8),
    2017: date(2017, 1, 28),
    2018: date(2018, 2, 16),
    2019: date(2019, 2, 5),
    2020: date(2020, 1, 25),
    2021: date(2021, 2, 12),
    2022: date(2022, 2, 1),
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
    2029: date(2029, 2, 13),
    2030: date(2030, 2, 3),
    2031: date(2031, 1, 23),
}


@dataclass(frozen=True)
class ProductLine:
    """What a village specialises in: prices, refunds and the shape of its year."""

    name: str
    share: float  # of townships specialising in it
    median_price_yuan: float
    price_sigma: float  # log-normal spread of one order's value around the shop's level
    refund_rate: float  # orders with a refund (full or partial)
    # Relative order volume by calendar month, January first.
    months: tuple[float, ...]
    # Extra weight in the weeks before Spring Festival (年货节: food and gifts sell).
    new_year_goods: float


PRODUCT_LINES = (
    ProductLine(
        "apparel",
        0.30,
        79.0,
        0.70,
        0.08,
        (1.00, 0.70, 0.90, 0.95, 0.90, 0.95, 0.80, 0.85, 1.00, 1.15, 1.35, 1.30),
        1.0,
    ),
    ProductLine(
        "furniture",
        0.15,
        260.0,
        0.95,
        0.05,
        (0.90, 0.70, 1.00, 1.05, 1.00, 1.05, 0.90, 0.95, 1.00, 1.05, 1.25, 1.15),
        1.0,
    ),
    # Harvest seasons: summer fruit (July-August), then autumn fruit, nuts, rice and tea
    # (September-October); the new-year goods festival before Spring Festival.
    ProductLine(
        "produce",
        0.35,
        55.0,
        0.60,
        0.03,
        (1.10, 0.70, 0.75, 0.85, 0.95, 1.00, 1.15, 1.25, 1.55, 1.60, 1.25, 1.15),
        1.8,
    ),
    ProductLine(
        "handicrafts",
        0.20,
        35.0,
        0.80,
        0.04,
        (0.95, 0.70, 0.95, 1.00, 1.00, 1.00, 0.95, 1.00, 1.05, 1.10, 1.30, 1.25),
        1.2,
    ),
)


@dataclass(frozen=True)
class Platform:
    name: str
    launched: int  # first year a shop can open there
    weight_early: float  # share of new shops in 2014 (before the launch year: none)
    weight_late: float  # share of new shops in 2022; linear in between, flat outside
    enterprise_share: float  # shops run by a company rather than a person
    orders_factor: float  # relative order volume of a shop
    price_factor: float  # relative order value


PLATFORMS = (
    Platform("taobao", 2003, 0.62, 0.40, 0.05, 1.0, 1.0),
    Platform("tmall", 2008, 0.10, 0.09, 1.00, 1.6, 1.3),
    Platform("1688", 1999, 0.05, 0.05, 0.70, 0.4, 4.0),
    Platform("xianyu", 2014, 0.02, 0.03, 0.00, 0.15, 0.8),
    Platform("jd", 2004, 0.12, 0.10, 0.30, 1.1, 1.2),
    Platform("pinduoduo", 2015, 0.04, 0.20, 0.05, 1.4, 0.55),
    Platform("douyin", 2018, 0.03, 0.13, 0.10, 1.2, 0.9),
)

# Where e-commerce villages actually grew (by province code): the south-east coast first.
# Weights of one village's propensity to host shops, loosely after the published provincial
# counts of Taobao villages; unknown provinces get DEFAULT_PROVINCE_WEIGHT.
PROVINCE_WEIGHT = {
    "11": 1.2,  # Beijing
    "12": 1.5,  # Tianjin
    "13": 3.0,  # Hebei
    "14": 0.35,
    "15": 0.3,
    "21": 0.4,
    "22": 0.3,
    "23": 0.3,
    "31": 1.5,  # Shanghai
    "32": 6.0,  # Jiangsu
    "33": 14.0,  # Zhejiang
    "34": 0.9,
    "35": 6.0,  # Fujian
    "36": 0.9,
    "37": 4.0,  # Shandong
    "41": 1.2,  # Henan
    "42": 0.8,
    "43": 0.6,
    "44": 8.0,  # Guangdong
    "45": 0.5,
    "46": 0.4,
    "50": 0.5,
    "51": 0.5,
    "52": 0.3,
    "53": 0.4,
    "54": 0.1,
    "61": 0.4,
    "62": 0.3,
    "63": 0.15,
    "64": 0.3,
    "65": 0.2,
}
DEFAULT_PROVINCE_WEIGHT = 0.3

# Log-normal spreads of a village's propensity: shared by its county, by its township, and
# its own. Sharing makes shops cluster into e-commerce towns and county-wide clusters.
COUNTY_SIGMA = 2.0
TOWNSHIP_SIGMA = 1.2
VILLAGE_SIGMA = 0.8
# A village fills up: at most about this many shops per household (saturation, not a hard cap).
SHOPS_PER_HOUSEHOLD_CAP = 3.0
# Residents' committees (urban) host some shops too, fewer than villages.
RESIDENTS_FACTOR = 0.5

# Shop sizes: log-normal order volume, larger in busier villages (a market draws buyers).
SHOP_SIGMA = 1.5
VILLAGE_PULL = 0.8  # elasticity of a shop's volume to its village's expected shop count
SHOP_PRICE_SIGMA = 0.45  # spread of price levels between shops of one product line
# Yearly growth of new shops and of one shop's volume.
SHOP_GROWTH = 1.22
VOLUME_GROWTH = 1.08
# In a village filled with shops, shop openings grow this much slower (they started early):
# the Taobao villages of the first rounds were the pioneers of 2009-2013.
PIONEER_HEAD_START = 0.7
# Shop lifetimes: a share fails in its first year, the rest last years.
EARLY_FAILURE_SHARE = 0.25
EARLY_FAILURE_MEAN_DAYS = 150.0
LIFETIME_MEAN_DAYS = 365.0 * 6
# Households: invented, log-normal around a typical village size.
HOUSEHOLDS_MEDIAN_VILLAGE = 420.0
HOUSEHOLDS_MEDIAN_RESIDENTS = 1500.0
HOUSEHOLDS_SIGMA = 0.6
# Shops per household run by one family (a household may run shops on several platforms).
PERSONAL_SHOPS_PER_HOUSEHOLD = 1.3
# Orders: items per order (1 + geometric), cancellations and the partial part of refunds.
EXTRA_ITEMS_P = 0.75  # P(one item); further items geometric
CANCEL_RATE = 0.015
PARTIAL_REFUND_SHARE = 0.4
MIN_ORDER_FEN = 100
MAX_ORDER_FEN = 50_000_000  # ¥500,000.00

# Hour of day in China time (0-23): quiet at night, peaks late morning and evening.
HOURS = np.array(
    [3, 1.5, 0.8, 0.5, 0.4, 0.5, 1.0, 2.2, 3.8, 5.0, 5.8, 5.5,
     4.8, 5.2, 5.6, 5.6, 5.3, 5.0, 5.0, 5.8, 6.8, 7.5, 7.0, 5.0],
    dtype=np.float64,
)  # fmt: skip


def platform_weights(years: np.ndarray) -> np.ndarray:
    """Shares of new shops per platform (columns) for each opening year (rows)."""
    t = np.clip((years.astype(np.float64) - 2014.0) / 8.0, 0.0, 1.0)[:, None]
    early = np.array([p.weight_early for p in PLATFORMS])[None, :]
    late = np.array([p.weight_late for p in PLATFORMS])[None, :]
    launched = np.array([p.launched for p in PLATFORMS])[None, :]
    weights = (early + (late - early) * t) * (years[:, None] >= launched)
    return weights / weights.sum(axis=1, keepdims=True)


def day_intensity(first_day: date, days: int) -> np.ndarray:
    """Relative order volume of each day, one row per product line (China-time days).

    The product of growth across years, the line's month profile and the calendar of
    shopping festivals: Double 11 (11 November, with its pre-sale and after days), 618
    (18 June), Double 12, the new-year goods festival and the near-stop of deliveries around
    Spring Festival, and the first COVID-19 weeks of 2020.
    """
    day_numbers = np.arange(days, dtype=np.int64) + np.datetime64(first_day, "D").astype(np.int64)
    stamps = day_numbers.astype("datetime64[D]")
    years = stamps.astype("datetime64[Y]").astype(np.int64) + 1970
    months = stamps.astype("datetime64[M]").astype(np.int64) % 12
    month_day = (stamps - stamps.astype("datetime64[M]")).astype(np.int64) + 1
    fractional_year = (day_numbers - np.datetime64("2014-01-01", "D").astype(np.int64)) / 365.25

    festival = np.ones(days)
    in_november = months == 10
    festival[in_november & (month_day < 11)] = 1.25  # pre-sale: baskets fill up
    festival[in_november & (month_day == 11)] = 9.0  # 双十一
    festival[in_november & (month_day >= 12) & (month_day <= 13)] = 1.6
    in_june = months == 5
    festival[in_june & (month_day >= 1) & (month_day < 18)] = 1.15
    festival[in_june & (month_day == 18)] = 3.0  # 618
    festival[(months == 11) & (month_day == 12)] = 2.0  # 双十二
    covid = (stamps >= np.datetime64("2020-01-23")) & (stamps < np.datetime64("2020-03-01"))

    spring_day = np.array(
        [np.datetime64(SPRING_FESTIVAL.get(int(y), date(int(y), 2, 1)), "D") for y in years]
        + [
            np.datetime64(SPRING_FESTIVAL.get(int(y) + 1, date(int(y) + 1, 2, 1)), "D")
            for y in years
        ]
    ).reshape(2, days)
    to_spring = (spring_day - stamps[None, :]).astype(np.int64)
    # Days from this day to the nearest Spring Festival, negative after it.
    nearest = np.where(np.abs(to_spring[0]) <= np.abs(to_spring[1]), to_spring[0], to_spring[1])
    holiday = (nearest <= 7) & (nearest >= -8)  # couriers stop: orders fall away
    new_year_goods = (nearest > 7) & (nearest <= 28)

    rows = []
    for line in PRODUCT_LINES:
        curve = np.asarray(line.months)[months] * festival * VOLUME_GROWTH**fractional_year
        curve = np.where(new_year_goods, curve * line.new_year_goods, curve)
        curve = np.where(holiday, curve * 0.3, curve)
        curve = np.where(covid, curve * 0.6, curve)
        rows.append(curve)
    return np.vstack(rows)

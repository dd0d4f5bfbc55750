"""``synth_generate``: a realistic, deterministic sales ledger for real division codes.

The model, top down (numbers in :mod:`taocun.synth.economy`, reasons in ``docs/synth.md``):

1. **Villages.** Each selected village gets a propensity to host shops: a province weight
   times log-normal factors shared by its county and its township and one of its own, so
   shops cluster into e-commerce towns and counties. Townships specialise in a product
   line. Households are invented where the divisions file has none.
2. **Shops.** The requested number of shops is spread over villages by a multinomial draw
   on the propensities (most villages get none, a few get hundreds). Each shop opens at a
   time drawn with yearly growth (some before the first year of orders), on a platform
   drawn from that year's platform mix, and may close (early failures, then long lives).
3. **Orders.** A shop's expected volume is a log-normal size (larger in busier villages and
   on some platforms) times the integral of its product line's daily intensity over the
   days it is open: growth, month profile, Double 11, 618, Spring Festival. The requested
   number of orders is spread over shops by one multinomial draw; each order's day is then
   drawn by inverting the cumulative intensity over the shop's open days, its hour from the
   hour-of-day profile. Values are log-normal around the shop's price level, with items,
   cancellations and full or partial refunds.

Everything is vectorised with NumPy over chunks of about ``chunk_rows`` orders (whole
shops per chunk), each chunk with its own random stream derived from the seed, so memory is
bounded by the chunk size plus a few arrays per shop and village, and the same seed gives
byte-identical files.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import pairwise
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from django.utils.translation import gettext as _

from taocun.core.commands import progress_bar
from taocun.core.errors import Conflict, ValidationError
from taocun.regions.codes import PREFIX_LENGTH, is_valid_code, level_of_code
from taocun.synth import economy

# The project's reference data lies beside the work tree (``../shared/data``); an installed
# package without it falls back to the demo slice shipped inside the package.
PACKAGE = Path(__file__).resolve().parent.parent
SHARED_DIVISIONS = PACKAGE.parents[1].parent / "shared" / "data" / "divisions-cn-2016.csv.gz"
DEMO_DIVISIONS = PACKAGE / "demo" / "data" / "divisions-demo.csv.gz"
FORMATS = ("parquet", "csv")
GENERATOR_VERSION = 1
CHINA_OFFSET_S = 8 * 3600
ORDER_ID_BASE = 10**12
SHOP_ID_BASE = 10**8
DIVISION_COLUMNS = ("code", "name", "level", "parent_code")
OPTIONAL_DIVISION_COLUMNS = ("ur_code", "households", "lat", "lon", "poverty", "poverty_exit_year")
DEFAULT_CHUNK_ROWS = 1_000_000
DEFAULT_FILE_ROWS = 10_000_000

TIMESTAMP = pa.timestamp("us", tz="UTC")
YUAN = pa.decimal128(18, 2)
SHOPS_SCHEMA = pa.schema(
    [
        ("platform", pa.string()),
        ("shop_id", pa.string()),
        ("village_code", pa.string()),
        ("opened_at", TIMESTAMP),
        ("kind", pa.string()),
        ("household_id", pa.string()),
        ("closed_at", TIMESTAMP),
    ]
)
ORDERS_SCHEMA = pa.schema(
    [
        ("platform", pa.string()),
        ("order_id", pa.string()),
        ("shop_id", pa.string()),
        ("amount", YUAN),
        ("paid_at", TIMESTAMP),
        ("status", pa.string()),
        ("currency", pa.string()),
        ("refunded_amount", YUAN),
    ]
)
STATUSES = ("completed", "refunded", "cancelled")
KINDS = ("personal", "enterprise")

# Independent random streams: a change in one part of the model leaves the others' draws.
_SELECTION, _SHOPS, _ALLOCATION, _ORDERS = 2, 3, 4, 5


@dataclass(frozen=True)
class SynthSummary:
    out: Path
    file_format: str
    villages: int
    villages_with_shops: int
    shops: int
    orders: int
    households_invented: int
    first_year: int
    last_year: int
    seconds: float
    files: list[str] = field(default_factory=list)

    @property
    def orders_per_second(self) -> float:
        return self.orders / self.seconds if self.seconds > 0 else 0.0


def default_divisions_path() -> Path:
    """The national table when the shared data is there, else the demo slice."""
    return SHARED_DIVISIONS if SHARED_DIVISIONS.exists() else DEMO_DIVISIONS


def parse_years(text: str) -> tuple[int, int]:
    """``2014-2022`` or ``2019`` → (first, last), within the years the calendars know."""
    parts = text.strip().split("-")
    try:
        if len(parts) == 1:
            first = last = int(parts[0])
        elif len(parts) == 2:
            first, last = int(parts[0]), int(parts[1])
        else:
            raise ValueError
    except ValueError:
        raise ValidationError(
            _("expected a year or a range of years such as 2014-2022, got %(value)r")
            % {"value": text},
            field="years",
        ) from None
    return first, last


def synth_generate(
    *,
    out: str | Path,
    orders: int = 1_000_000,
    shops: int | None = None,
    villages: str = "all",
    divisions: str | Path | None = None,
    years: tuple[int, int] = (2014, 2022),
    seed: int = 1,
    file_format: str = "parquet",
    household_ids: bool = False,
    overwrite: bool = False,
    progress: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    file_rows: int = DEFAULT_FILE_ROWS,
    product_line: str | None = None,
    price_scale: float = 1.0,
    shop_sigma: float = economy.SHOP_SIGMA,
    history_years: float = economy.HISTORY_YEARS,
) -> SynthSummary:
    """Write ``divisions``, ``shops/part-*`` and ``orders/part-*`` under ``out``.

    ``shops`` defaults to one shop per 50 orders. ``villages`` is ``all``, a number of
    villages (whole counties drawn by the seed), a 12-digit division code (the villages
    below it) or a code prefix ending in ``*`` (``3307*``). The files appear only when
    complete: they are written under ``out/.synth-partial`` and moved into place at the end.

    Model options (``docs/synth.md``): ``product_line`` makes every selected township
    specialise in that line (``economy.PRODUCT_LINES``) instead of a drawn one;
    ``price_scale`` multiplies every shop's price level (a place whose goods cost more or
    less than its line's median); ``shop_sigma`` is the log-normal spread of shop sizes
    (lower: fewer tiny shops, more shops that sell every month); ``history_years`` is how
    long before the first year shops may have opened (longer: a mature place whose trade
    grows slowly; shorter: a place that is just booming).
    """
    started = time.perf_counter()
    first_year, last_year = years
    _check_arguments(
        orders=orders,
        shops=shops,
        first_year=first_year,
        last_year=last_year,
        seed=seed,
        file_format=file_format,
        chunk_rows=chunk_rows,
        file_rows=file_rows,
    )
    line_index = _check_model(
        product_line=product_line,
        price_scale=price_scale,
        shop_sigma=shop_sigma,
        history_years=history_years,
    )
    if shops is None:
        shops = max(1, orders // 50)
    out = Path(out)
    source = Path(divisions) if divisions is not None else default_divisions_path()
    _check_output(out, overwrite=overwrite)
    table = _read_divisions(source)
    selected = _select_villages(table, villages, seed=seed)
    village_set = _VillageSet.build(selected, seed=seed, line=line_index)

    partial = out / ".synth-partial"
    if partial.exists():
        shutil.rmtree(partial)
    try:
        (partial / "shops").mkdir(parents=True)
        (partial / "orders").mkdir(parents=True)
        suffix = ".parquet" if file_format == "parquet" else ".csv.gz"

        divisions_out = _divisions_output(table, selected, village_set)
        _write_whole(divisions_out, partial / f"divisions{suffix}", file_format)

        shop_set = _ShopSet.build(
            village_set,
            shops=shops,
            first_year=first_year,
            last_year=last_year,
            seed=seed,
            shop_sigma=shop_sigma,
            price_scale=price_scale,
            history_years=history_years,
        )
        _write_parts(
            _shop_tables(shop_set, village_set, household_ids=household_ids, chunk_rows=chunk_rows),
            partial / "shops",
            SHOPS_SCHEMA,
            file_format,
            file_rows=file_rows,
            row_group_rows=ROW_GROUP_ROWS,
        )
        counts = shop_set.allocate_orders(orders, seed=seed)
        with progress_bar(
            total=orders, unit="order", desc=_("orders"), disable=not progress
        ) as bar:
            _write_parts(
                _order_tables(shop_set, counts, seed=seed, chunk_rows=chunk_rows, bar=bar),
                partial / "orders",
                ORDERS_SCHEMA,
                file_format,
                file_rows=file_rows,
            )

        manifest = {
            "generator": "taocun synth",
            "version": GENERATOR_VERSION,
            "seed": seed,
            "years": [first_year, last_year],
            "villages": villages,
            "divisions_source": source.name,
            "format": file_format,
            "model": {
                "product_line": product_line,
                "price_scale": price_scale,
                "shop_sigma": shop_sigma,
                "history_years": history_years,
            },
            "counts": {
                "villages": village_set.size,
                "villages_with_shops": int(np.count_nonzero(shop_set.shops_per_village)),
                "shops": shop_set.size,
                "orders": int(orders),
            },
            "households_invented": village_set.households_invented,
            "note": "Synthetic data. Shops, orders and the households counts of villages are "
            "invented; division codes, names and coordinates are real.",
        }
        (partial / "synth.json").write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        files = _publish(partial, out, suffix)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)  # never leave half a data set behind
        raise
    return SynthSummary(
        out=out,
        file_format=file_format,
        villages=village_set.size,
        villages_with_shops=manifest["counts"]["villages_with_shops"],
        shops=shop_set.size,
        orders=int(orders),
        households_invented=village_set.households_invented,
        first_year=first_year,
        last_year=last_year,
        seconds=time.perf_counter() - started,
        files=files,
    )


# --- arguments and input ------------------------------------------------------------------


def _check_arguments(
    *,
    orders: int,
    shops: int | None,
    first_year: int,
    last_year: int,
    seed: int,
    file_format: str,
    chunk_rows: int,
    file_rows: int,
) -> None:
    if orders < 0:
        raise ValidationError(_("the number of orders cannot be negative"), field="orders")
    if shops is not None and shops < 1:
        raise ValidationError(_("at least one shop is needed"), field="shops")
    if not (economy.FIRST_YEAR <= first_year <= last_year <= economy.LAST_YEAR):
        raise ValidationError(
            _("years must run forwards between %(first)d and %(last)d, got %(a)d-%(b)d")
            % {
                "first": economy.FIRST_YEAR,
                "last": economy.LAST_YEAR,
                "a": first_year,
                "b": last_year,
            },
            field="years",
        )
    if seed < 0:
        raise ValidationError(_("the seed must be a whole number ≥ 0"), field="seed")
    if file_format not in FORMATS:
        raise ValidationError(
            _("unknown format %(value)r: expected parquet or csv") % {"value": file_format},
            field="format",
        )
    if chunk_rows < 1 or file_rows < 1:
        raise ValidationError(_("chunk and file sizes must be positive"), field="chunk_rows")


# Bounds of the model options: wide enough for any calibration, narrow enough to refuse typos.
PRICE_SCALE_RANGE = (0.05, 20.0)
SHOP_SIGMA_RANGE = (0.0, 4.0)
HISTORY_RANGE = (0.0, 10.0)


def _check_model(
    *,
    product_line: str | None,
    price_scale: float,
    shop_sigma: float,
    history_years: float,
) -> int | None:
    """Validate the model options; return the forced product line's index (or None)."""
    names = [line.name for line in economy.PRODUCT_LINES]
    if product_line is not None and product_line not in names:
        raise ValidationError(
            _("unknown product line %(value)r: expected one of %(names)s")
            % {"value": product_line, "names": ", ".join(names)},
            field="product_line",
        )
    for field_name, value, (low, high) in (
        ("price_scale", price_scale, PRICE_SCALE_RANGE),
        ("shop_sigma", shop_sigma, SHOP_SIGMA_RANGE),
        ("history_years", history_years, HISTORY_RANGE),
    ):
        if not (low <= value <= high):  # also refuses NaN
            raise ValidationError(
                _("%(name)s must be between %(low)s and %(high)s, got %(value)s")
                % {"name": field_name, "low": low, "high": high, "value": value},
                field=field_name,
            )
    return None if product_line is None else names.index(product_line)


def _check_output(out: Path, *, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ValidationError(_("%(path)s is not a directory") % {"path": out}, field="out")
    ours = [out / name for name in ("shops", "orders", "synth.json")] + [
        out / f"divisions{suffix}" for suffix in (".parquet", ".csv.gz")
    ]
    if not overwrite and any(path.exists() for path in ours):
        raise Conflict(
            _("%(path)s already holds generated data; pass --overwrite to replace it")
            % {"path": out},
            field="out",
        )


def _read_divisions(path: Path) -> pa.Table:
    """The divisions file (CSV, gzipped CSV or Parquet, recognised by its first bytes)."""
    if not path.is_file():
        raise ValidationError(
            _("no divisions file at %(path)s") % {"path": path}, field="divisions"
        )
    with path.open("rb") as handle:
        magic = handle.read(4)
    try:
        if magic == b"PAR1":
            table = pq.read_table(path)
        else:
            compression = "gzip" if magic[:2] == b"\x1f\x8b" else None
            with pa.input_stream(path, compression=compression) as stream:
                table = pacsv.read_csv(
                    stream,
                    convert_options=pacsv.ConvertOptions(
                        column_types={
                            name: pa.string()
                            for name in (
                                "code",
                                "name",
                                "level",
                                "parent_code",
                                "ur_code",
                                "poverty",
                            )
                        }
                    ),
                )
    except (pa.ArrowInvalid, OSError) as error:
        raise ValidationError(
            _("%(path)s is not a readable divisions file: %(error)s")
            % {"path": path, "error": error},
            field="divisions",
        ) from None
    missing = [name for name in DIVISION_COLUMNS if name not in table.column_names]
    if missing:
        raise ValidationError(
            _("%(path)s lacks the column %(column)s") % {"path": path, "column": missing[0]},
            field="divisions",
        )
    columns = [
        name
        for name in (*DIVISION_COLUMNS, *OPTIONAL_DIVISION_COLUMNS)
        if name in table.column_names
    ]
    table = table.select(columns)
    for name in ("code", "name", "level", "parent_code", "ur_code", "poverty"):
        if name in table.column_names and table.schema.field(name).type != pa.string():
            table = table.set_column(
                table.column_names.index(name), name, pc.cast(table[name], pa.string())
            )
    if "households" in table.column_names:
        index = table.column_names.index("households")
        table = table.set_column(index, "households", pc.cast(table["households"], pa.int64()))
    return table


def _select_villages(table: pa.Table, spec: str, *, seed: int) -> pa.Table:
    """The village rows the ledger covers, in code order."""
    villages = table.filter(pc.equal(table["level"], "village"))
    villages = villages.sort_by("code")
    spec = spec.strip()
    if spec == "all":
        chosen = villages
    elif spec.endswith("*") and spec[:-1].isdigit():
        chosen = villages.filter(pc.starts_with(villages["code"], spec[:-1]))
    elif spec.isdigit() and len(spec) == 12:
        if not is_valid_code(spec):
            raise ValidationError(
                _("%(value)s is not a division code") % {"value": spec}, field="villages"
            )
        prefix = spec[: PREFIX_LENGTH[level_of_code(spec)]]
        chosen = villages.filter(pc.starts_with(villages["code"], prefix))
    elif spec.isdigit() and int(spec) > 0:
        chosen = _whole_counties(villages, int(spec), seed=seed)
    else:
        raise ValidationError(
            _(
                "expected all, a number of villages, a 12-digit division code or a code "
                "prefix ending in * (such as 3307*), got %(value)r"
            )
            % {"value": spec},
            field="villages",
        )
    if chosen.num_rows == 0:
        raise ValidationError(
            _("no village of the divisions file matches %(value)r") % {"value": spec},
            field="villages",
        )
    return chosen


def _whole_counties(villages: pa.Table, wanted: int, *, seed: int) -> pa.Table:
    """About ``wanted`` villages: whole counties in a seeded order, then cut to size.

    Whole counties keep the geography (townships, neighbours) that towns and clusters need.
    """
    codes = villages["code"].to_numpy(zero_copy_only=False).astype("U12")
    counties, county_of = np.unique(codes.astype("U6"), return_inverse=True)
    order = np.random.default_rng([seed, _SELECTION]).permutation(len(counties))
    sizes = np.bincount(county_of, minlength=len(counties))[order]
    taken = order[: int(np.searchsorted(np.cumsum(sizes), min(wanted, len(codes)))) + 1]
    mask = np.isin(county_of, taken)
    rows = np.flatnonzero(mask)[:wanted]
    return villages.take(pa.array(rows))


# --- villages -----------------------------------------------------------------------------


@dataclass
class _VillageSet:
    codes: pa.Array  # string, code order
    propensity: np.ndarray  # float64, mean 1
    line: np.ndarray  # product line index per village
    households: np.ndarray  # int64
    households_invented: int

    @property
    def size(self) -> int:
        return len(self.codes)

    @classmethod
    def build(
        cls,
        villages: pa.Table,
        *,
        seed: int,
        line: int | None = None,
    ) -> _VillageSet:
        codes = villages["code"].combine_chunks()
        text = codes.to_numpy(zero_copy_only=False).astype("U12")
        n = len(text)
        # Shared factors: draw one per distinct county and township in code order, so the
        # draw of a county does not depend on which other counties are selected.
        county_keys = text.astype("U6").astype(np.int64)
        township_keys = text.astype("U9").astype(np.int64)
        county_factor = _keyed_normals(county_keys, seed=seed, stream=11)
        township_factor = _keyed_normals(township_keys, seed=seed, stream=12)
        village_factor = _keyed_normals(text.astype(np.int64), seed=seed, stream=14)
        province = text.astype("U2")
        province_weight = np.array(
            [economy.PROVINCE_WEIGHT.get(p, economy.DEFAULT_PROVINCE_WEIGHT) for p in province]
        )
        number = np.mod(text.astype(np.int64), 1000)
        residents = (number < 200) | ((number >= 400) & (number < 600))
        log_weight = (
            np.log(province_weight)
            + economy.COUNTY_SIGMA * county_factor
            + economy.TOWNSHIP_SIGMA * township_factor
            + economy.VILLAGE_SIGMA * village_factor
            + np.where(residents, math.log(economy.RESIDENTS_FACTOR), 0.0)
        )
        propensity = np.exp(log_weight - log_weight.max())
        propensity /= propensity.mean()

        shares = np.array([line.share for line in economy.PRODUCT_LINES])
        line_draw = _keyed_uniforms(township_keys, seed=seed, stream=13)
        drawn = np.searchsorted(np.cumsum(shares) / shares.sum(), line_draw, side="right")
        drawn = np.minimum(drawn, len(shares) - 1)
        if line is not None:  # the caller knows what the place sells
            drawn = np.full(n, line)

        household_draw = _keyed_normals(text.astype(np.int64), seed=seed, stream=15)
        median = np.where(
            residents, economy.HOUSEHOLDS_MEDIAN_RESIDENTS, economy.HOUSEHOLDS_MEDIAN_VILLAGE
        )
        invented = np.maximum(
            20, np.round(median * np.exp(economy.HOUSEHOLDS_SIGMA * household_draw))
        ).astype(np.int64)
        if "households" in villages.column_names:
            known = villages["households"].to_numpy(zero_copy_only=False)
            known_mask = ~np.isnan(known.astype(np.float64))
            households = np.where(known_mask, np.nan_to_num(known.astype(np.float64)), invented)
            households = households.astype(np.int64)
            invented_count = int(n - known_mask.sum())
        else:
            households = invented
            invented_count = n
        return cls(codes, propensity, drawn.astype(np.int8), households, invented_count)


def _keyed_normals(keys: np.ndarray, *, seed: int, stream: int) -> np.ndarray:
    return _keyed_draw(keys, seed=seed, stream=stream, normal=True)


def _keyed_uniforms(keys: np.ndarray, *, seed: int, stream: int) -> np.ndarray:
    return _keyed_draw(keys, seed=seed, stream=stream, normal=False)


def _keyed_draw(keys: np.ndarray, *, seed: int, stream: int, normal: bool) -> np.ndarray:
    """One draw per distinct key, the same for a key whatever else is selected.

    A counter-based hash (SplitMix64 of seed, stream and key) rather than a sequential
    generator, so that ``--villages 3307*`` gives Yiwu the same hot townships as ``all``.
    """
    unique, inverse = np.unique(keys, return_inverse=True)
    with np.errstate(over="ignore"):
        state = unique.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        state ^= np.uint64((seed * 1_000_003 + stream) & 0xFFFFFFFFFFFFFFFF)
        u1 = _splitmix(state)
        u2 = _splitmix(state ^ np.uint64(0xD1B54A32D192ED03))
    if not normal:
        return u1[inverse]
    values = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
    return values[inverse]


def _splitmix(state: np.ndarray) -> np.ndarray:
    """Uniforms in (0, 1) from 64-bit states (SplitMix64 finaliser)."""
    z = state + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return ((z >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)


def _divisions_output(table: pa.Table, selected: pa.Table, village_set: _VillageSet) -> pa.Table:
    """The selected villages with their invented households, and every ancestor of them."""
    wanted = selected["code"]
    keep = pc.is_in(table["code"], value_set=wanted.combine_chunks())
    parents = selected["parent_code"].combine_chunks().unique()
    for _level in range(5):
        keep = pc.or_(keep, pc.is_in(table["code"], value_set=parents))
        above = table.filter(pc.is_in(table["code"], value_set=parents))
        parents = pc.drop_null(above["parent_code"].combine_chunks()).unique()
        if len(parents) == 0:
            break
    result = table.filter(keep).sort_by("code")
    # Villages in the result are exactly the selected ones, in code order like village_set.
    is_village = pc.equal(result["level"], "village").to_numpy(zero_copy_only=False)
    households = np.zeros(result.num_rows, dtype=np.int64)
    households[is_village] = village_set.households
    column = pa.array(households, mask=~is_village)
    if "households" in result.column_names:
        result = result.set_column(result.column_names.index("households"), "households", column)
    else:
        at = result.column_names.index("ur_code") + 1 if "ur_code" in result.column_names else 4
        result = result.add_column(at, "households", column)
    for name in ("lat", "lon"):
        if name in result.column_names:
            index = result.column_names.index(name)
            result = result.set_column(index, name, pc.cast(result[name], pa.float64()))
    return result


# --- shops --------------------------------------------------------------------------------


@dataclass
class _ShopSet:
    village: np.ndarray  # int32 index into the village set
    platform: np.ndarray  # int8 index into economy.PLATFORMS
    enterprise: np.ndarray  # bool
    opened_s: np.ndarray  # int64 UTC epoch seconds
    closed_s: np.ndarray  # int64 UTC epoch seconds, -1 = still open
    first_day: np.ndarray  # int32 first whole day of orders (index into the day grid)
    end_day: np.ndarray  # int32 day after the last day of orders
    line: np.ndarray  # int8 product line
    volume: np.ndarray  # float64 relative order volume
    price_fen: np.ndarray  # float64 typical unit price
    household: np.ndarray  # int64 household number in its village, 0 = none
    shops_per_village: np.ndarray
    cumulative: np.ndarray  # stacked cumulative intensities, one block per product line
    days: int
    day0_s: int  # UTC epoch seconds of China midnight starting day 0

    @property
    def size(self) -> int:
        return len(self.village)

    @classmethod
    def build(
        cls,
        villages: _VillageSet,
        *,
        shops: int,
        first_year: int,
        last_year: int,
        seed: int,
        shop_sigma: float = economy.SHOP_SIGMA,
        price_scale: float = 1.0,
        history_years: float = economy.HISTORY_YEARS,
    ) -> _ShopSet:
        rng = np.random.default_rng([seed, _SHOPS])
        day0 = date(first_year, 1, 1)
        days = (date(last_year + 1, 1, 1) - day0).days
        day0_s = int(datetime(first_year, 1, 1, tzinfo=UTC).timestamp()) - CHINA_OFFSET_S

        expected = _saturated_shops(villages, shops)
        per_village = rng.multinomial(shops, expected / expected.sum())
        pull = (expected / expected.mean()) ** economy.VILLAGE_PULL
        village = np.repeat(np.arange(villages.size, dtype=np.int32), per_village)

        # Opening times: growth-weighted over [first year - history, end), in days.
        history = history_years * 365.25
        span = days + history
        # Busy villages were the pioneers: their shops opened earlier (slower growth).
        cap = np.maximum(economy.SHOPS_PER_HOUSEHOLD_CAP * villages.households, 1.0)
        filled = np.minimum(expected / cap, 1.0)[village]
        g = math.log(economy.SHOP_GROWTH) / 365.25 * (1.0 - economy.PIONEER_HEAD_START * filled)
        u = rng.random(shops)
        opened_day = -history + np.log1p(u * np.expm1(g * span)) / g
        opened_s = day0_s + np.floor(opened_day * 86400).astype(np.int64)
        open_year = (opened_s + CHINA_OFFSET_S).astype("datetime64[s]").astype("datetime64[Y]")
        open_year = open_year.astype(np.int64) + 1970

        years = np.arange(open_year.min(), open_year.max() + 1)
        weights = economy.platform_weights(years)[open_year - years[0]]
        platform = _choose_rows(weights, rng.random(shops)).astype(np.int8)
        enterprise_share = np.array([p.enterprise_share for p in economy.PLATFORMS])
        enterprise = rng.random(shops) < enterprise_share[platform]

        early = rng.random(shops) < economy.EARLY_FAILURE_SHARE
        lifetime = np.where(
            early,
            rng.exponential(economy.EARLY_FAILURE_MEAN_DAYS, shops),
            rng.exponential(economy.LIFETIME_MEAN_DAYS, shops),
        )
        closed_day = opened_day + np.maximum(lifetime, 1.0)
        still_open = closed_day >= days
        closed_s = np.where(still_open, -1, day0_s + np.floor(closed_day * 86400).astype(np.int64))
        first_day = np.clip(np.ceil(opened_day), 0, days).astype(np.int32)
        end_day = np.clip(np.floor(np.minimum(closed_day, days)), 0, days).astype(np.int32)
        end_day = np.maximum(end_day, first_day)

        line = villages.line[village]
        # A few shops sell outside their village's speciality.
        off_line = rng.random(shops) < 0.15
        line = np.where(off_line, rng.integers(0, len(economy.PRODUCT_LINES), shops), line).astype(
            np.int8
        )

        orders_factor = np.array([p.orders_factor for p in economy.PLATFORMS])
        price_factor = np.array([p.price_factor for p in economy.PLATFORMS])
        volume = (
            np.exp(shop_sigma * rng.standard_normal(shops))
            * orders_factor[platform]
            * np.where(enterprise, 1.6, 1.0)
            * pull[village]
        )
        median_price = np.array([p.median_price_yuan for p in economy.PRODUCT_LINES]) * 100
        price_fen = (
            median_price[line]
            * price_scale
            * price_factor[platform]
            * np.exp(economy.SHOP_PRICE_SIGMA * rng.standard_normal(shops))
        )

        # Households of personal shops: one family may run several shops.
        personal = ~enterprise
        personal_per_village = np.bincount(village[personal], minlength=villages.size)
        pool = np.minimum(
            villages.households,
            np.maximum(1, np.ceil(personal_per_village / economy.PERSONAL_SHOPS_PER_HOUSEHOLD)),
        ).astype(np.int64)
        household = 1 + np.floor(rng.random(shops) * pool[village]).astype(np.int64)
        household = np.where(personal, np.minimum(household, pool[village]), 0)

        intensity = economy.day_intensity(day0, days)
        cumulative = np.concatenate(
            [np.zeros((intensity.shape[0], 1)), np.cumsum(intensity, axis=1)], axis=1
        )
        # Stack the lines' cumulative curves into one increasing array: block k is offset
        # by k * (largest total + 1), so one searchsorted serves every line at once.
        offset = cumulative[:, -1].max() + 1.0
        cumulative = cumulative + offset * np.arange(intensity.shape[0])[:, None]
        return cls(
            village=village,
            platform=platform,
            enterprise=enterprise,
            opened_s=opened_s,
            closed_s=closed_s,
            first_day=first_day,
            end_day=end_day,
            line=line,
            volume=volume,
            price_fen=price_fen,
            household=household,
            shops_per_village=per_village,
            cumulative=cumulative.ravel(),
            days=days,
            day0_s=day0_s,
        )

    def _block(self, line: np.ndarray) -> np.ndarray:
        return line.astype(np.int64) * (self.days + 1)

    def allocate_orders(self, orders: int, *, seed: int) -> np.ndarray:
        """Orders per shop: one multinomial draw on each shop's expected volume."""
        block = self._block(self.line)
        mass = self.volume * (
            self.cumulative[block + self.end_day] - self.cumulative[block + self.first_day]
        )
        total = mass.sum()
        if orders and total <= 0:
            raise ValidationError(
                _("no shop is open during the years asked for; widen --years"), field="years"
            )
        if orders == 0:
            return np.zeros(self.size, dtype=np.int64)
        return np.random.default_rng([seed, _ALLOCATION]).multinomial(orders, mass / total)


def _saturated_shops(villages: _VillageSet, shops: int) -> np.ndarray:
    """Expected shops per village: proportional to propensity until a village fills up.

    ``e = k w / (1 + k w / cap)`` with ``cap`` a few shops per household, ``k`` found by
    bisection so that the expectations add up to ``shops``. Without the cap one village of
    a log-normal draw would hold a town's worth of shops; with it the busiest villages fill
    up and the next ones grow, as e-commerce spread to neighbouring villages in reality.
    """
    weight = villages.propensity
    cap = np.maximum(economy.SHOPS_PER_HOUSEHOLD_CAP * villages.households, 1.0)
    if shops >= 0.999 * cap.sum():  # more shops than the villages can hold: no saturation
        return weight

    def total(k: float) -> float:
        return float((k * weight / (1.0 + k * weight / cap)).sum())

    low, high = 0.0, shops / weight.sum()
    while total(high) < shops:
        high *= 2.0
    for _step in range(60):
        middle = (low + high) / 2.0
        low, high = (middle, high) if total(middle) < shops else (low, middle)
    return high * weight / (1.0 + high * weight / cap)


def _choose_rows(weights: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Per row, the column whose cumulative weight first exceeds ``u`` (weights sum to 1)."""
    cumulative = np.cumsum(weights, axis=1)
    return np.minimum((u[:, None] >= cumulative).sum(axis=1), weights.shape[1] - 1)


def _shop_ids(index: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(index.astype(np.int64) + SHOP_ID_BASE), pa.string())


def _platform_names() -> pa.Array:
    return pa.array([p.name for p in economy.PLATFORMS])


def _shop_tables(
    shops: _ShopSet, villages: _VillageSet, *, household_ids: bool, chunk_rows: int
) -> Iterator[pa.Table]:
    names = _platform_names()
    for start in range(0, shops.size, chunk_rows):
        stop = min(start + chunk_rows, shops.size)
        part = slice(start, stop)
        village_code = villages.codes.take(pa.array(shops.village[part]))
        if household_ids:
            number = shops.household[part]
            padded = pc.utf8_lpad(pc.cast(pa.array(number), pa.string()), 5, "0")
            household = pc.binary_join_element_wise(village_code, padded, "")
            household = pc.if_else(pa.array(number > 0), household, pa.scalar(None, pa.string()))
        else:
            household = pa.nulls(stop - start, pa.string())
        closed = shops.closed_s[part]
        yield pa.table(
            {
                "platform": names.take(pa.array(shops.platform[part])),
                "shop_id": _shop_ids(np.arange(start, stop)),
                "village_code": village_code,
                "opened_at": _timestamps(shops.opened_s[part]),
                "kind": pa.array(KINDS).take(pa.array(shops.enterprise[part].astype(np.int8))),
                "household_id": household,
                "closed_at": _timestamps(closed, mask=closed < 0),
            },
            schema=SHOPS_SCHEMA,
        )


# --- orders -------------------------------------------------------------------------------


def _order_tables(
    shops: _ShopSet, counts: np.ndarray, *, seed: int, chunk_rows: int, bar
) -> Iterator[pa.Table]:
    """Chunks of whole shops holding about ``chunk_rows`` orders each."""
    cumulative = np.cumsum(counts)
    total = int(cumulative[-1]) if len(cumulative) else 0
    cuts = np.searchsorted(cumulative, np.arange(chunk_rows, total, chunk_rows), side="left") + 1
    bounds = np.unique(np.concatenate([[0], cuts, [shops.size]]))
    names = _platform_names()
    hours = np.cumsum(economy.HOURS) / economy.HOURS.sum()
    refund_rate = np.array([line.refund_rate for line in economy.PRODUCT_LINES])
    price_sigma = np.array([line.price_sigma for line in economy.PRODUCT_LINES])
    first_order = 0
    for number, (start, stop) in enumerate(pairwise(bounds)):
        n = int(counts[start:stop].sum())
        if n == 0:
            continue
        rng = np.random.default_rng([seed, _ORDERS, number])
        shop = np.repeat(np.arange(start, stop), counts[start:stop])
        block = shops._block(shops.line[shop])
        low = shops.cumulative[block + shops.first_day[shop]]
        high = shops.cumulative[block + shops.end_day[shop]]
        point = low + rng.random(n) * (high - low)
        day = np.searchsorted(shops.cumulative, point, side="right") - 1 - block
        day = np.clip(day, shops.first_day[shop], shops.end_day[shop] - 1)
        hour = np.searchsorted(hours, rng.random(n), side="right")
        paid_s = shops.day0_s + day * 86400 + hour * 3600 + rng.integers(0, 3600, n)
        order = np.argsort(paid_s, kind="stable")
        shop, paid_s = shop[order], paid_s[order]

        line = shops.line[shop]
        items = rng.geometric(economy.EXTRA_ITEMS_P, n)
        unit_fen = shops.price_fen[shop] * np.exp(price_sigma[line] * rng.standard_normal(n))
        unit_fen = np.round(unit_fen / 10.0) * 10.0  # prices in whole jiao
        amount = np.clip(unit_fen * items, economy.MIN_ORDER_FEN, economy.MAX_ORDER_FEN)
        amount = amount.astype(np.int64)

        draw = rng.random(n)
        cancelled = draw < economy.CANCEL_RATE
        refunded = ~cancelled & (draw < economy.CANCEL_RATE + refund_rate[line])
        partial = refunded & (rng.random(n) < economy.PARTIAL_REFUND_SHARE)
        part_fen = np.floor(amount * rng.uniform(0.1, 0.9, n)).astype(np.int64)
        refunded_fen = np.where(
            partial, np.clip(part_fen, 1, amount - 1), np.where(refunded, amount, 0)
        )
        status = np.where(cancelled, 2, np.where(refunded, 1, 0)).astype(np.int8)

        yield pa.table(
            {
                "platform": names.take(pa.array(shops.platform[shop])),
                "order_id": pc.cast(
                    pa.array(np.arange(first_order, first_order + n) + ORDER_ID_BASE), pa.string()
                ),
                "shop_id": _shop_ids(shop),
                "amount": _yuan(amount),
                "paid_at": _timestamps(paid_s),
                "status": pa.array(STATUSES).take(pa.array(status)),
                "currency": pa.repeat(pa.scalar("CNY"), n),
                # Empty when nothing was refunded, as platform exports leave it.
                "refunded_amount": _yuan(refunded_fen, mask=refunded_fen == 0),
            },
            schema=ORDERS_SCHEMA,
        )
        first_order += n
        bar.update(n)


def _timestamps(seconds: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    micros = pa.array(seconds.astype(np.int64) * 1_000_000, mask=mask)
    return micros.cast(TIMESTAMP)


def _yuan(fen: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """Exact decimal128(18, 2) yuan from integer fen: the fen are the decimal's unscaled
    value, written straight into its 16-byte little-endian two's-complement slots."""
    slots = np.empty((len(fen), 2), dtype=np.int64)
    slots[:, 0] = fen
    slots[:, 1] = fen >> 63
    validity = None
    if mask is not None and mask.any():
        validity = pa.py_buffer(np.packbits(~mask, bitorder="little"))
    return pa.Array.from_buffers(YUAN, len(fen), [validity, pa.py_buffer(slots)])


# --- writing ------------------------------------------------------------------------------


# Row groups of divisions and shops: DuckDB reads a Parquet file one row group per thread,
# so the 713,034 divisions in one group (Arrow's default is a million rows) were read by one
# core. Orders files keep the default: ten million rows make ten groups per file already.
ROW_GROUP_ROWS = 131_072


def _write_whole(table: pa.Table, path: Path, file_format: str) -> None:
    if file_format == "parquet":
        pq.write_table(table, path, compression="zstd", row_group_size=ROW_GROUP_ROWS)
    else:
        with pa.output_stream(path, compression="gzip") as stream:
            pacsv.write_csv(_csv_ready(table), stream)


def _write_parts(
    tables: Iterator[pa.Table],
    folder: Path,
    schema: pa.Schema,
    file_format: str,
    *,
    file_rows: int,
    row_group_rows: int | None = None,
) -> list[str]:
    """Stream tables into ``part-NNNNN`` files of about ``file_rows`` rows each (Parquet row
    groups of at most ``row_group_rows``, Arrow's default when ``None``)."""
    files: list[str] = []
    writer = None
    rows_in_file = 0
    try:
        for table in tables:
            if writer is None or rows_in_file >= file_rows:
                if writer is not None:
                    writer.close()
                name = f"part-{len(files):05d}" + (
                    ".parquet" if file_format == "parquet" else ".csv.gz"
                )
                files.append(name)
                writer = _open_writer(folder / name, schema, file_format)
                rows_in_file = 0
            if file_format == "parquet":
                writer.write_table(table, row_group_size=row_group_rows)
            else:
                writer.write_table(_csv_ready(table))
            rows_in_file += table.num_rows
        if writer is None:  # no rows at all: still one valid, empty file with the header
            files.append("part-00000" + (".parquet" if file_format == "parquet" else ".csv.gz"))
            writer = _open_writer(folder / files[0], schema, file_format)
    finally:
        if writer is not None:
            writer.close()
    return files


class _CsvPartWriter:
    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self._stream = pa.output_stream(path, compression="gzip")
        self._writer = pacsv.CSVWriter(self._stream, _csv_schema(schema))

    def write_table(self, table: pa.Table) -> None:
        self._writer.write_table(table)

    def close(self) -> None:
        self._writer.close()
        self._stream.close()


def _open_writer(path: Path, schema: pa.Schema, file_format: str):
    if file_format == "csv":
        return _CsvPartWriter(path, schema)
    return pq.ParquetWriter(
        path,
        schema,
        compression="zstd",
        use_dictionary=["platform", "shop_id", "village_code", "kind", "status", "currency"],
    )


def _csv_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema(
        [
            pa.field(
                f.name,
                pa.string()
                if pa.types.is_timestamp(f.type) or pa.types.is_decimal(f.type)
                else f.type,
            )
            for f in schema
        ]
    )


def _csv_ready(table: pa.Table) -> pa.Table:
    """Amounts as plain yuan text, instants as China time with an explicit offset."""
    columns = []
    for column, schema_field in zip(table.columns, table.schema, strict=True):
        if pa.types.is_timestamp(schema_field.type):
            seconds = pc.divide(pc.cast(column, pa.int64()), 1_000_000)
            local = pc.cast(pc.add(seconds, CHINA_OFFSET_S), pa.timestamp("s"))
            text = pc.strftime(local, format="%Y-%m-%dT%H:%M:%S")
            column = pc.binary_join_element_wise(text, "+08:00", "")
        elif pa.types.is_decimal(schema_field.type):
            column = pc.cast(column, pa.string())
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def _publish(partial: Path, out: Path, suffix: str) -> list[str]:
    """Move the finished files from the partial folder into ``out``, replacing old ones."""
    for name in ("shops", "orders"):
        if (out / name).exists():
            shutil.rmtree(out / name)
    for name in ("divisions.parquet", "divisions.csv.gz", "synth.json"):
        (out / name).unlink(missing_ok=True)
    files = []
    for name in (f"divisions{suffix}", "synth.json", "shops", "orders"):
        (partial / name).rename(out / name)
    for name in ("shops", "orders"):
        files += [f"{name}/{child.name}" for child in sorted((out / name).iterdir())]
    partial.rmdir()
    return [f"divisions{suffix}", *files, "synth.json"]

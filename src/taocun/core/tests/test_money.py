from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taocun.core.errors import ValidationError
from taocun.core.money import MAX_FEN, Money

fen = st.integers(min_value=-(10**15), max_value=10**15)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234.5", 123450),
        ("1,234.50", 123450),
        ("¥1,234.50", 123450),
        ("0.01", 1),
        ("-3", -300),
        ("  7.10 ", 710),
        ("10000000", 1_000_000_000),
        (Decimal("2.5"), 250),
        (12, 1200),
    ],
)
def test_parse_yuan(text, expected):
    assert Money.parse(text).amount_fen == expected


@pytest.mark.parametrize(
    "text", ["", "abc", "1.234", "1,23.00", "1e5", "NaN", "Infinity", "--1", "1.2.3"]
)
def test_parse_rejects_bad_amounts_naming_the_field(text):
    with pytest.raises(ValidationError) as info:
        Money.parse(text, field="amount")
    assert info.value.field == "amount"


def test_parse_refuses_floats():
    with pytest.raises(TypeError):
        Money.parse(1.1)


def test_float_amount_is_refused():
    with pytest.raises(TypeError):
        Money(1.5)  # type: ignore[arg-type]


def test_too_large_is_refused():
    with pytest.raises(ValidationError):
        Money(MAX_FEN + 1)
    with pytest.raises(ValidationError):
        Money.parse("1" + "0" * 30)


@pytest.mark.parametrize(
    ("fen_value", "text"),
    [
        (123450, "¥1,234.50"),
        (0, "¥0.00"),
        (5, "¥0.05"),
        (-100, "-¥1.00"),
        (100_000_000_000, "¥1,000,000,000.00"),
    ],
)
def test_format(fen_value, text):
    assert str(Money(fen_value)) == text


def test_other_currency_formats_and_does_not_mix():
    assert Money(1999, "USD").format() == "$19.99"
    assert Money(1999, "KRW").format() == "KRW 19.99"
    with pytest.raises(ValidationError):
        Money(1, "CNY") + Money(1, "USD")
    with pytest.raises(ValidationError):
        Money(1, "yuan")


@given(fen, fen)
def test_addition_and_subtraction_are_exact(a, b):
    assert (Money(a) + Money(b)).amount_fen == a + b
    assert (Money(a) + Money(b) - Money(b)) == Money(a)


@given(fen)
def test_format_parse_round_trip(a):
    assert Money.parse(Money(a).format()) == Money(a)
    assert Money.parse(Money(a).yuan_text()) == Money(a)
    assert Money(a).yuan == Decimal(a) / 100


@given(fen, st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=8).filter(any))
def test_allocate_never_creates_or_loses_a_fen(a, ratios):
    parts = Money(a).allocate(ratios)
    assert sum(p.amount_fen for p in parts) == a
    assert len(parts) == len(ratios)


def test_multiplication_by_int_only():
    assert Money(150) * 3 == Money(450)
    with pytest.raises(TypeError):
        Money(150) * 1.5  # type: ignore[operator]

"""NBS 12-digit statistical division codes: ``PP CC DD TTT VVV``.

Province (2 digits), prefecture (2), county (2), township (3), village (3). The level of a
code is the deepest non-zero segment; a parent's significant digits are a prefix of its
children's codes. The last three digits of a village-level code also say what kind of
committee it is (NBS rule): 001-199 residents' committee (居委会), 200-399 village
committee (村委会), 400-599 residents'-committee-like, 600-799 village-committee-like.

>>> level_of_code("330782203000")
'township'
>>> committee_kind("330782203201")
'village'
"""

import re

LEVELS = ("province", "prefecture", "county", "township", "village")
LEVEL_DEPTH = {level: depth for depth, level in enumerate(LEVELS)}
# How many leading digits are significant at each level.
PREFIX_LENGTH = {"province": 2, "prefecture": 4, "county": 6, "township": 9, "village": 12}
CODE_PATTERN = re.compile(r"^\d{12}$")

# Codes that break the level-from-code rule in the official NBS tables themselves, with the
# level the table gives them. 三岔口镇 (Bachu county, Xinjiang) is a township whose code has
# a village part.
KNOWN_NBS_EXCEPTIONS = {"653130103001": "township"}


def is_valid_code(code: str) -> bool:
    return bool(CODE_PATTERN.match(code)) and code[:2] != "00"


def level_of_code(code: str) -> str:
    if code[2:] == "0" * 10:
        return "province"
    if code[4:] == "0" * 8:
        return "prefecture"
    if code[6:] == "0" * 6:
        return "county"
    if code[9:] == "000":
        return "township"
    return "village"


def expected_level(code: str) -> str:
    return KNOWN_NBS_EXCEPTIONS.get(code) or level_of_code(code)


def significant_prefix(code: str, level: str) -> str:
    return code[: PREFIX_LENGTH[level]]


def is_consistent_parent(child_code: str, parent_code: str, parent_level: str) -> bool:
    """A parent is consistent when its significant digits prefix the child's code."""
    return child_code != parent_code and child_code.startswith(
        significant_prefix(parent_code, parent_level)
    )


def committee_kind(code: str) -> str:
    """``residents``, ``village``, ``residents_like`` or ``village_like`` for a village code."""
    number = int(code[9:])
    if 1 <= number <= 199:
        return "residents"
    if 200 <= number <= 399:
        return "village"
    if 400 <= number <= 599:
        return "residents_like"
    return "village_like"

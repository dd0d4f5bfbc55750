"""Pydantic's validation errors in the user's language.

Pydantic writes its messages in English only. Each error also carries a stable ``type``
and the numbers it used in ``ctx`` (``{"type": "less_than_equal", "ctx": {"le": 500}}``),
so the common types are rewritten here as translated messages; an uncommon type keeps
pydantic's own text rather than saying nothing. Used by the API's error handler.
"""

from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext as _


def _number(value: Any) -> str:
    return str(value)


def _messages() -> dict[str, Callable[[dict], str]]:
    # Built per call: gettext must run in the language of the request being answered.
    def text(message: str) -> Callable[[dict], str]:
        return lambda ctx: message

    whole = text(_("Expected a whole number."))
    number = text(_("Expected a number."))
    date = text(_("Expected a date (YYYY-MM-DD)."))
    datetime = text(_("Expected a date and time (ISO 8601, e.g. 2016-11-11T09:30:00+08:00)."))

    def choice(ctx: dict) -> str:
        return _("Expected one of: %(expected)s.") % {"expected": ctx.get("expected", "")}

    return {
        "missing": text(_("This field is required.")),
        "string_too_long": lambda ctx: (
            _("At most %(max)s characters.") % {"max": _number(ctx.get("max_length"))}
        ),
        "string_too_short": lambda ctx: (
            _("At least %(min)s characters.") % {"min": _number(ctx.get("min_length"))}
        ),
        "string_type": text(_("Expected text.")),
        "string_pattern_mismatch": lambda ctx: (
            _("Does not have the expected form %(pattern)s.") % {"pattern": ctx.get("pattern", "")}
        ),
        "string_unicode": text(_("Expected valid Unicode text.")),
        "int_parsing": whole,
        "int_type": whole,
        "int_from_float": text(_("Expected a whole number, not a fraction.")),
        "int_parsing_size": text(_("The number is too large.")),
        "float_parsing": number,
        "float_type": number,
        "finite_number": text(_("Expected a finite number.")),
        "greater_than_equal": lambda ctx: (
            _("Must be %(limit)s or more.") % {"limit": _number(ctx.get("ge"))}
        ),
        "less_than_equal": lambda ctx: (
            _("Must be %(limit)s or less.") % {"limit": _number(ctx.get("le"))}
        ),
        "greater_than": lambda ctx: (
            _("Must be more than %(limit)s.") % {"limit": _number(ctx.get("gt"))}
        ),
        "less_than": lambda ctx: (
            _("Must be less than %(limit)s.") % {"limit": _number(ctx.get("lt"))}
        ),
        "bool_parsing": text(_("Expected true or false.")),
        "bool_type": text(_("Expected true or false.")),
        "json_invalid": text(_("Not valid JSON.")),
        "json_type": text(_("Expected JSON text.")),
        "enum": choice,
        "literal_error": choice,
        "too_long": lambda ctx: (
            _("At most %(max)s items.") % {"max": _number(ctx.get("max_length"))}
        ),
        "too_short": lambda ctx: (
            _("At least %(min)s items.") % {"min": _number(ctx.get("min_length"))}
        ),
        "list_type": text(_("Expected a list.")),
        "dict_type": text(_("Expected an object.")),
        "model_type": text(_("Expected an object.")),
        "model_attributes_type": text(_("Expected an object.")),
        "extra_forbidden": text(_("Unknown field.")),
        "url_parsing": text(_("Expected a URL.")),
        "url_type": text(_("Expected a URL.")),
        "url_scheme": lambda ctx: (
            _("The URL must start with %(schemes)s.") % {"schemes": ctx.get("expected_schemes", "")}
        ),
        "url_too_long": lambda ctx: (
            _("At most %(max)s characters.") % {"max": _number(ctx.get("max_length"))}
        ),
        "date_parsing": date,
        "date_from_datetime_parsing": date,
        "date_from_datetime_inexact": date,
        "date_type": date,
        "datetime_parsing": datetime,
        "datetime_from_date_parsing": datetime,
        "datetime_type": datetime,
        "timezone_aware": text(_("Give a time zone (e.g. +08:00).")),
        "decimal_parsing": number,
        "decimal_type": number,
        "decimal_max_digits": lambda ctx: (
            _("At most %(max)s digits.") % {"max": _number(ctx.get("max_digits"))}
        ),
        "decimal_max_places": lambda ctx: (
            _("At most %(max)s decimal places.") % {"max": _number(ctx.get("decimal_places"))}
        ),
        "uuid_parsing": text(_("Expected a UUID.")),
        "uuid_type": text(_("Expected a UUID.")),
    }


def pydantic_error_message(error: dict) -> str:
    """One pydantic error (an item of ``ValidationError.errors()``) as a message for people.

    ``value_error`` and ``assertion_error`` come from our own validators, whose message is
    already translated: it is kept, without pydantic's "Value error, " prefix.
    """
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind in {"value_error", "assertion_error"} and ctx.get("error"):
        return str(ctx["error"])
    message = _messages().get(kind)
    if message is None:
        return str(error.get("msg", "")) or _("Invalid input.")
    try:
        return message(ctx)
    except (KeyError, TypeError, ValueError):
        return str(error.get("msg", "")) or _("Invalid input.")

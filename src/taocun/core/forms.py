"""What the money forms of the pages share: an amount typed in yuan, and the one-time key
that makes a form sent twice (a double tap, a retry after a lost answer) act once."""

from __future__ import annotations

import re
import uuid

from django.utils.translation import gettext as _

from taocun.core.errors import ValidationError
from taocun.core.money import Money

_FORM_KEY = re.compile(r"[0-9a-f]{32}")


def yuan_to_fen(text: str | None, field: str) -> int:
    """ "9.90" → 990; an empty or malformed amount is a ValidationError on ``field``."""
    if not (text or "").strip():
        raise ValidationError(_("Enter an amount in yuan."), field=field)
    return Money.parse(text.strip(), field=field).amount_fen


def form_key_new() -> str:
    """A key for one showing of a form (its hidden ``key`` input)."""
    return uuid.uuid4().hex


def form_key_check(text: str | None, *, expired: str) -> str:
    """The key a form came back with; ``expired`` is the message when it has none."""
    key = (text or "").strip()
    if not _FORM_KEY.fullmatch(key):
        raise ValidationError(expired, field="key")
    return key

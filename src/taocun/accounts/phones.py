"""Mainland China mobile numbers, normalised to E.164 (``+8613800138000``).

>>> normalize_phone("138 0013 8000")
'+8613800138000'
"""

import re

from django.utils.translation import gettext as _

from taocun.core.errors import ValidationError

_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normalize_phone(text: str, *, field: str = "phone") -> str:
    digits = re.sub(r"[\s\-()]", "", str(text or ""))
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            digits = digits[len(prefix) :]
            break
    if not _MOBILE.match(digits):
        raise ValidationError(
            _("%(value)s is not a mainland China mobile number (+86 1xx xxxx xxxx)")
            % {"value": text},
            field=field,
        )
    return "+86" + digits

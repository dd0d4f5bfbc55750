from django.contrib.auth.backends import ModelBackend

from taocun.accounts.phones import normalize_phone
from taocun.core.errors import ValidationError


class PhoneBackend(ModelBackend):
    """Authenticate by mainland mobile number in any common spelling, and password."""

    def authenticate(self, request, username=None, password=None, phone=None, **kwargs):
        try:
            phone = normalize_phone(phone or username or "")
        except ValidationError:
            return None
        return super().authenticate(request, username=phone, password=password, **kwargs)

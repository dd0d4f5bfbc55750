"""Payment providers by name.

The sandbox is built in. Others are registered with the ``PAYMENTS_PROVIDERS`` setting
(``{"alipay": "dotted.path.AlipayProvider"}``); the default provider for new intents is
``PAYMENTS_DEFAULT_PROVIDER`` (``"sandbox"``).
"""

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from taocun.core.errors import NotFound
from taocun.payments.providers.base import PaymentProvider
from taocun.payments.providers.sandbox import SandboxProvider

BUILT_IN = {SandboxProvider.name: SandboxProvider}


def provider_names() -> list[str]:
    return sorted({*BUILT_IN, *getattr(settings, "PAYMENTS_PROVIDERS", {})})


def provider_get(name: str) -> PaymentProvider:
    configured = getattr(settings, "PAYMENTS_PROVIDERS", {})
    if name in configured:
        return import_string(configured[name])()
    if name in BUILT_IN:
        return BUILT_IN[name]()
    raise NotFound(
        _("There is no payment provider %(name)s.") % {"name": name[:40]}, field="provider"
    )


def default_provider_name() -> str:
    return getattr(settings, "PAYMENTS_DEFAULT_PROVIDER", SandboxProvider.name)

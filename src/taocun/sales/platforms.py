"""The names of the platforms the ledger knows, for people.

The ledger stores a platform as a code (``taobao``, ``pinduoduo`` …: whatever an import
names it); pages show the platform's name in the reader's language. A code that is not
listed here is shown as it is.
"""

from django.utils.translation import gettext_lazy as _

from taocun.core.wording import list_text

PLATFORM_NAMES = {
    "taocun": _("taocun"),
    "taobao": _("Taobao"),
    "tmall": _("Tmall"),
    "1688": _("1688.com"),
    "xianyu": _("Xianyu"),
    "aliexpress": _("AliExpress"),
    "fliggy": _("Fliggy"),
    "hema": _("Freshippo"),
    "jd": _("JD.com"),
    "pinduoduo": _("Pinduoduo"),
    "douyin": _("Douyin"),
    "kuaishou": _("Kuaishou"),
    "wechat": _("WeChat"),
    "suning": _("Suning"),
}


def platform_name(code: str) -> str:
    """``"pinduoduo"`` → "Pinduoduo" (拼多多 in Chinese); an unknown code as it is."""
    return str(PLATFORM_NAMES.get(code, code))


def platform_names(codes) -> str:
    """Several platforms in words: "淘宝、天猫" in Chinese, "Taobao, Tmall" in English."""
    return list_text(platform_name(code) for code in codes)

"""Small pieces of wording shared by the apps' pages."""

from collections.abc import Iterable

from django.utils.translation import pgettext


def list_text(items: Iterable[str]) -> str:
    """Items in a row as the reader's language lists them: "淘宝、天猫" in Chinese,
    "Taobao, Tmall" in English."""
    # Translators: what separates the items of a list: "、" in Chinese.
    return pgettext("list separator", ", ").join(str(item) for item in items)

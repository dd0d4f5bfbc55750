"""The reviews app's own catalogues (``reviews/locale``) are complete, keep their
placeholders and are compiled — the same rules as the site's (see docs/i18n.md)."""

import gettext
import re
from pathlib import Path

import pytest
from django.test import Client

from taocun.web.tests.test_translations import read_po

LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
PLACEHOLDER = re.compile(r"%\(\w+\)[sdr]")


@pytest.mark.parametrize("locale", ["zh_Hans", "fr"])
def test_every_reviews_string_is_translated(locale):
    entries = read_po(LOCALE_DIR / locale / "LC_MESSAGES" / "django.po")
    assert len(entries) > 100
    problems = [e.msgid for e in entries if e.untranslated or "fuzzy" in e.flags]
    assert not problems, f"{locale}: translate these (see docs/reviews.md): {problems}"
    for entry in entries:
        expected = set(PLACEHOLDER.findall(entry.msgid + (entry.msgid_plural or "")))
        for text in entry.msgstr.values():
            assert set(PLACEHOLDER.findall(text)) <= expected, entry.msgid
            if entry.msgid_plural is None:
                assert set(PLACEHOLDER.findall(text)) == expected, entry.msgid


@pytest.mark.parametrize("locale", ["zh_Hans", "fr", "en"])
def test_reviews_catalogue_is_compiled(locale):
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "django.po"
    with po.with_suffix(".mo").open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)
    stale = [
        e.msgid
        for e in read_po(po)
        if e.msgid_plural is None
        and not e.untranslated
        and catalogue._catalog.get(e.msgid) != e.msgstr[0]
    ]
    assert not stale, f"run msgfmt in src/taocun/reviews/locale: {stale}"


def test_pages_speak_the_visitors_language(apples):
    html = Client().get(f"/reviews/product/{apples.pk}/", HTTP_ACCEPT_LANGUAGE="fr").content
    assert "Pas encore d’avis." in html.decode()
    html = Client().get(f"/reviews/product/{apples.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content
    assert "暂无评价。" in html.decode()

"""The reviews pages speak the visitor's language from the app's own catalogue (its
completeness is checked with every other catalogue in web/tests/test_translations.py)."""

from django.test import Client


def test_pages_speak_the_visitors_language(apples):
    html = Client().get(f"/reviews/product/{apples.pk}/", HTTP_ACCEPT_LANGUAGE="fr").content
    assert "Pas encore d’avis." in html.decode()
    html = Client().get(f"/reviews/product/{apples.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content
    assert "暂无评价。" in html.decode()

"""The payments tests read messages in English (the source language); the site's default
language is Chinese, so each test runs with English active."""

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield

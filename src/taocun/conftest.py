"""Shared pytest fixtures. Tests run on the database DATABASE_URL names (SQLite by default,
PostgreSQL in CI's second pass); pytest-django creates a fresh test database."""

import pytest
from django.test import Client

from taocun.accounts.tests.factories import UserFactory
from taocun.regions.tests.factories import small_tree


@pytest.fixture
def tree(db):
    """A small real slice of the tree: 浙江省 › 金华市 › 义乌市 › 两个镇 › villages."""
    return small_tree()


@pytest.fixture
def user_with_role(db):
    def make(role: str, region=None, **kwargs):
        return UserFactory(roles=[(role, region)], **kwargs)

    return make


@pytest.fixture
def client_for():
    """A test client logged in as the given user."""

    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make

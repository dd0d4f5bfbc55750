import pytest
from django.core import mail

from taocun.notifications.backends import LocmemSmsBackend
from taocun.notifications.tests.factories import FlakySmsBackend


@pytest.fixture(autouse=True)
def backends_in_memory(settings):
    """SMS into LocmemSmsBackend.outbox, e-mail into django.core.mail.outbox, sent in the
    process right after commit (``test_worker.py`` covers sending from the task worker,
    the default)."""
    settings.NOTIFICATIONS_SEND_IN_WORKER = False
    settings.NOTIFICATIONS_SMS_BACKEND = "taocun.notifications.backends.LocmemSmsBackend"
    settings.NOTIFICATIONS_EMAIL_BACKEND = "taocun.notifications.backends.DjangoEmailBackend"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.NOTIFICATIONS_SITE_URL = "https://taocun.example"
    LocmemSmsBackend.outbox.clear()
    FlakySmsBackend.failures = 0
    FlakySmsBackend.sent.clear()
    mail.outbox = []
    yield
    LocmemSmsBackend.outbox.clear()


@pytest.fixture
def sms_outbox():
    return LocmemSmsBackend.outbox


@pytest.fixture
def flaky_sms(settings):
    settings.NOTIFICATIONS_SMS_BACKEND = "taocun.notifications.tests.factories.FlakySmsBackend"
    return FlakySmsBackend

"""``taocun notifications …`` through call_command."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from taocun.notifications import services
from taocun.notifications.models import Delivery
from taocun.notifications.tests.factories import person

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("notifications", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def failed_delivery(django_capture_on_commit_callbacks, flaky_sms, settings):
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 0
    flaky_sms.failures = 1
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(user=person(), kind="payout.failed", title="提现失败", body="")
    return Delivery.objects.get()


def test_failed_lists_and_retry_sends(failed_delivery, flaky_sms):
    listed = run("failed")
    assert f"{failed_delivery.pk:>8} sms" in listed and "gateway unreachable" in listed
    assert "1 failed deliveries" in listed

    assert run("retry") == "1 sent, 0 failed, 0 skipped\n"
    assert len(flaky_sms.sent) == 1
    assert run("failed").endswith("0 failed deliveries\n")


def test_retry_one_delivery_by_id(failed_delivery, flaky_sms):
    flaky_sms.failures = 1
    output = run("retry", "--delivery", str(failed_delivery.pk))
    assert output.startswith(f"delivery {failed_delivery.pk}: failed (2 attempts)")
    assert run("retry", "--delivery", str(failed_delivery.pk)).startswith(
        f"delivery {failed_delivery.pk}: sent (3 attempts)"
    )
    with pytest.raises(CommandError) as caught:
        run("retry", "--delivery", str(failed_delivery.pk))
    assert caught.value.returncode == 2

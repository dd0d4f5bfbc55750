"""``taocun roles grant|revoke|list`` through call_command."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from taocun.accounts.models import Role
from taocun.accounts.tests.factories import UserFactory
from taocun.core.models import AuditEntry


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def roles(*args: str) -> str:
    out = io.StringIO()
    call_command("roles", *args, stdout=out)
    return out.getvalue()


def test_grant_a_county_officer_then_list_then_revoke(tree):
    user = UserFactory(phone="+8613900000001", roles=[(Role.BUYER, None)])

    out = roles("grant", "139 0000 0001", "officer", "--region", tree.yiwu.code)

    assert out.strip() == ("+8613900000001 now holds the officer role for 义乌市 (330782000000).")
    assert user.role_grants.get(role=Role.OFFICER).region == tree.yiwu
    grant = AuditEntry.objects.get(action="role.grant")
    assert (grant.actor_label, grant.after) == (
        "cli",
        {"role": "officer", "region": tree.yiwu.code},
    )
    assert roles("list", "13900000001").splitlines() == [
        "+8613900000001\tbuyer\t-",
        "+8613900000001\tofficer\t330782000000 义乌市",
    ]

    out = roles("revoke", "+8613900000001", "officer", "--region", tree.yiwu.code)

    assert "no longer holds the officer role" in out
    assert not user.role_grants.filter(role=Role.OFFICER).exists()
    assert AuditEntry.objects.get(action="role.revoke").actor_label == "cli"


def test_list_everyone(tree):
    UserFactory(phone="+8613900000002", roles=[(Role.LENDER, None)])
    UserFactory(phone="+8613900000003", roles=[(Role.AGENT, tree.choujiang)])
    assert roles("list").splitlines() == [
        "+8613900000002\tlender\t-",
        "+8613900000003\tagent\t330782003000 稠江街道",
    ]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("grant", "+8613900000009", "lender"), "No account has the phone number"),
        (("grant", "12345", "lender"), "is not a mainland China mobile number"),
        (("grant", "+8613900000004", "emperor"), "Unknown role emperor"),
        (("grant", "+8613900000004", "officer"), "needs a scope of level county"),
        (("grant", "+8613900000004", "officer", "--region", "330782003000"), "level county"),
        (("grant", "+8613900000004", "officer", "--region", "110000000000"), "No division"),
        (("revoke", "+8613900000004", "lender"), "does not hold the lender role"),
    ],
)
def test_mistakes_are_clean_errors_and_change_nothing(tree, args, says):
    user = UserFactory(phone="+8613900000004", roles=[(Role.BUYER, None)])
    with pytest.raises(CommandError) as info:
        roles(*args)
    assert info.value.returncode == 2
    assert says in str(info.value)
    assert list(user.role_grants.values_list("role", flat=True)) == ["buyer"]
    assert not AuditEntry.objects.filter(action__startswith="role.").exists()

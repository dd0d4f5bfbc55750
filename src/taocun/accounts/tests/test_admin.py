"""The administration site: users with their role grants, and the read-only registry."""

import pytest
from django.test import Client

from taocun.accounts.models import Role, RoleGrant, User
from taocun.accounts.tests.factories import UserFactory
from taocun.core.models import AuditEntry
from taocun.regions.tests.factories import HouseholdFactory


@pytest.fixture
def admin_client(db) -> Client:
    client = Client()
    client.cookies["django_language"] = "en"
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_admin_pages_open(tree, admin_client):
    user = UserFactory(roles=[(Role.OFFICER, tree.yiwu)])
    household = HouseholdFactory(village=tree.qianchang)
    for url in (
        "/admin/accounts/user/",
        "/admin/accounts/user/?q=138",
        f"/admin/accounts/user/{user.pk}/change/",
        "/admin/accounts/user/add/",
        "/admin/accounts/rolegrant/",
        "/admin/accounts/rolegrant/add/",
        "/admin/regions/division/?q=3307",
        f"/admin/regions/division/{tree.qianchang.code}/change/",
        "/admin/regions/household/",
        f"/admin/regions/household/{household.pk}/change/",
    ):
        assert admin_client.get(url).status_code == 200, url


def test_the_registry_is_read_only_in_the_admin(tree, admin_client):
    assert admin_client.get("/admin/regions/division/add/").status_code == 403
    response = admin_client.post(
        f"/admin/regions/division/{tree.qianchang.code}/change/", {"name": "改名村"}
    )
    assert response.status_code == 403
    tree.qianchang.refresh_from_db()
    assert tree.qianchang.name == "前仓村委会"


def test_a_grant_added_in_the_admin_goes_through_the_service(tree, admin_client):
    user = UserFactory()
    response = admin_client.post(
        "/admin/accounts/rolegrant/add/",
        {"user": user.pk, "role": Role.OFFICER, "region": tree.yiwu.code},
    )
    assert response.status_code == 302
    assert user.role_grants.get().region == tree.yiwu
    assert AuditEntry.objects.get(action="role.grant").after == {
        "role": "officer",
        "region": tree.yiwu.code,
    }


def test_a_grant_with_a_wrong_scope_is_a_form_error(tree, admin_client):
    user = UserFactory()
    response = admin_client.post(
        "/admin/accounts/rolegrant/add/",
        {"user": user.pk, "role": Role.OFFICER, "region": tree.choujiang.code},
    )
    assert response.status_code == 200
    assert "needs a scope of level county" in response.content.decode()
    assert not RoleGrant.objects.exists()


def test_deleting_a_grant_in_the_admin_revokes_it(tree, admin_client):
    user = UserFactory(roles=[(Role.AGENT, tree.choujiang)])
    grant = user.role_grants.get()
    response = admin_client.post(f"/admin/accounts/rolegrant/{grant.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not user.role_grants.exists()
    assert AuditEntry.objects.get(action="role.revoke").before["region"] == tree.choujiang.code


def test_a_user_added_in_the_admin_logs_in_by_phone_and_is_audited(db, admin_client):
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "phone": "139 2222 3333",
            "usable_password": "true",
            "password1": "rice-and-tea-77",
            "password2": "rice-and-tea-77",
            "role_grants-TOTAL_FORMS": "1",
            "role_grants-INITIAL_FORMS": "0",
            "role_grants-0-role": Role.LENDER,
            "role_grants-0-region": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(phone="+8613922223333")
    assert user.check_password("rice-and-tea-77")
    assert user.has_role(Role.LENDER)
    assert AuditEntry.objects.filter(action="user.admin_create", object_id=str(user.pk)).exists()
    assert AuditEntry.objects.filter(action="role.grant", object_id=str(user.pk)).exists()

import pytest
from django.test import RequestFactory, override_settings

from taocun.accounts import services
from taocun.accounts.models import LoginFailure, Role, RoleGrant, User
from taocun.accounts.phones import normalize_phone
from taocun.accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from taocun.core.errors import NotAuthenticated, Throttled, ValidationError
from taocun.core.models import AuditEntry


@pytest.mark.parametrize(
    "text",
    [
        "13800138000",
        "+86 138 0013 8000",
        "0086-138-0013-8000",
        "86 13800138000",
        "(+86)13800138000",
    ],
)
def test_phone_spellings_normalise(text):
    assert normalize_phone(text) == "+8613800138000"


@pytest.mark.parametrize(
    "text", ["", "12345", "12800138000", "+1 415 555 0100", "1380013800a", "138001380001"]
)
def test_bad_phones_are_refused(text):
    with pytest.raises(ValidationError) as info:
        normalize_phone(text)
    assert info.value.field == "phone"


@pytest.mark.django_db
def test_sign_up_creates_a_buyer_with_argon2_and_audits():
    user = services.user_sign_up(
        phone="139 1111 2222", password="rice-and-tea-77", display_name="小王"
    )
    assert user.phone == "+8613911112222"
    assert user.password.startswith("argon2")
    assert user.roles == {Role.BUYER}
    assert AuditEntry.objects.filter(action="user.sign_up", object_id=str(user.pk)).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("phone", "password", "field"),
    [
        ("139", "rice-and-tea-77", "phone"),
        ("13911112222", "123", "password"),
        ("13911112222", "password", "password"),
        ("13911112222", "12345678901", "password"),
    ],
)
def test_sign_up_validation_changes_nothing(phone, password, field):
    with pytest.raises(ValidationError) as info:
        services.user_sign_up(phone=phone, password=password)
    assert info.value.field == field
    assert not User.objects.exists()


@pytest.mark.django_db
def test_duplicate_phone_is_refused():
    services.user_sign_up(phone="13911112222", password="rice-and-tea-77")
    with pytest.raises(ValidationError):
        services.user_sign_up(phone="+86 139 1111 2222", password="rice-and-tea-77")


@pytest.mark.django_db
@override_settings(LOGIN_FAILURE_LIMIT=3)
def test_login_throttles_after_repeated_failures_even_with_the_right_password():
    user = UserFactory()
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="10.0.0.9")
    for _ in range(3):
        with pytest.raises(NotAuthenticated):
            services.user_login(request=request, phone=user.phone, password="wrong-password")
    with pytest.raises(Throttled):
        services.user_login(request=request, phone=user.phone, password=DEFAULT_PASSWORD)
    assert LoginFailure.objects.filter(phone=user.phone).count() == 3
    assert AuditEntry.objects.filter(action="user.login_failed").count() == 3


@pytest.mark.django_db
def test_successful_login_clears_failures():
    user = UserFactory()
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="10.0.0.9")
    with pytest.raises(NotAuthenticated):
        services.user_login(request=request, phone=user.phone, password="nope")
    assert (
        services.user_login(request=request, phone=user.phone[3:], password=DEFAULT_PASSWORD)
        == user
    )
    assert not LoginFailure.objects.filter(phone=user.phone).exists()


@pytest.mark.django_db
def test_regional_roles_need_a_scope_of_the_right_level(tree):
    user = UserFactory()
    with pytest.raises(ValidationError):
        services.role_grant(actor=None, user=user, role=Role.OFFICER, region=None)
    with pytest.raises(ValidationError):
        services.role_grant(actor=None, user=user, role=Role.OFFICER, region=tree.choujiang)
    with pytest.raises(ValidationError):
        services.role_grant(actor=None, user=user, role="emperor")
    services.role_grant(actor=None, user=user, role=Role.OFFICER, region=tree.yiwu)
    services.role_grant(actor=None, user=user, role=Role.OFFICER, region=tree.yiwu)
    assert RoleGrant.objects.filter(user=user, role=Role.OFFICER).count() == 1
    assert user.roles == {Role.OFFICER}


@pytest.mark.django_db
def test_api_tokens_are_stored_as_digests_and_revocable():
    user = UserFactory()
    token, raw = services.api_token_create(user=user, name="laptop")
    assert raw.startswith("tc_") and raw not in token.digest
    assert services.api_token_user(raw) == user
    assert services.api_token_user(raw + "x") is None
    services.api_token_revoke(user=user, token_id=token.pk)
    assert services.api_token_user(raw) is None


def test_role_revoke_takes_the_scoped_grant_away_and_audits(tree):
    officer = UserFactory(roles=[(Role.OFFICER, tree.yiwu), (Role.OFFICER, tree.caoxian)])
    assert officer.has_role(Role.OFFICER)

    services.role_revoke(actor="cli", user=officer, role=Role.OFFICER, region=tree.yiwu)

    assert list(officer.role_grants.values_list("region_id", flat=True)) == [tree.caoxian.code]
    entry = AuditEntry.objects.get(action="role.revoke")
    assert (entry.actor_label, entry.before) == (
        "cli",
        {"role": "officer", "region": tree.yiwu.code},
    )


def test_role_revoke_of_a_role_not_held_is_not_found(tree):
    from taocun.core.errors import NotFound

    buyer = UserFactory(roles=[(Role.BUYER, None)])
    with pytest.raises(NotFound):
        services.role_revoke(actor=None, user=buyer, role=Role.OFFICER, region=tree.yiwu)
    with pytest.raises(ValidationError):
        services.role_revoke(actor=None, user=buyer, role="emperor")
    services.role_revoke(actor=None, user=buyer, role=Role.BUYER)
    assert not buyer.role_grants.exists()
    assert not buyer.has_role(Role.BUYER)


def test_user_link_household_audits_once(tree):
    from taocun.regions.services import household_register

    household = household_register(actor=None, village=tree.dinglou, head_name="丁一", members=3)
    seller = UserFactory(roles=[(Role.SELLER, None)])

    services.user_link_household(actor="demo", user=seller, household=household)
    services.user_link_household(actor="demo", user=seller, household=household)

    seller.refresh_from_db()
    assert seller.household == household
    entry = AuditEntry.objects.get(action="user.link_household")
    assert entry.after == {"household": household.pk, "village": tree.dinglou.code}


@pytest.mark.django_db
def test_user_set_staff_sets_the_flags_and_audits_once():
    user = UserFactory()

    services.user_set_staff(actor="cli", user=user, superuser=True)
    services.user_set_staff(actor="cli", user=user, superuser=True)

    user.refresh_from_db()
    assert (user.is_staff, user.is_superuser) == (True, True)
    assert AuditEntry.objects.filter(action="user.set_staff").count() == 1
    services.user_set_staff(actor="cli", user=user, superuser=False)
    user.refresh_from_db()
    assert (user.is_staff, user.is_superuser) == (True, False)
    inactive = UserFactory(is_active=False)
    with pytest.raises(ValidationError):
        services.user_set_staff(actor="cli", user=inactive, superuser=False)

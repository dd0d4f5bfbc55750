"""Account services: sign-up, throttled login, role grants, staff flags, household links and
API tokens."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from taocun.accounts.models import ApiToken, LoginFailure, Role, RoleGrant, User
from taocun.accounts.phones import normalize_phone
from taocun.core.errors import NotAuthenticated, NotFound, Throttled, ValidationError
from taocun.core.services import audit_record
from taocun.regions.models import Division, Household, Level

# Which level of region scopes each regional role.
ROLE_SCOPE_LEVELS = {
    Role.OFFICER: {Level.COUNTY},
    Role.AGENT: {Level.TOWNSHIP, Level.VILLAGE},
}


def _check_password(password: str, user: User | None = None) -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as error:
        raise ValidationError(" ".join(error.messages), field="password") from None


@transaction.atomic
def user_sign_up(
    *, phone: str, password: str, display_name: str = "", ip_address: str | None = None
) -> User:
    """Create a buyer account. Every new user is a buyer; other roles are granted."""
    phone = normalize_phone(phone)
    if User.objects.filter(phone=phone).exists():
        raise ValidationError(_("This phone number already has an account."), field="phone")
    display_name = display_name.strip()
    if len(display_name) > 50:
        raise ValidationError(
            _("The display name is too long (50 characters at most)."), field="display_name"
        )
    user = User(phone=phone, display_name=display_name)
    _check_password(password, user)
    user.set_password(password)
    user.save()
    RoleGrant.objects.create(user=user, role=Role.BUYER)
    audit_record(
        actor=user, action="user.sign_up", obj=user, after={"phone": phone}, ip_address=ip_address
    )
    return user


def _recent_failures(*, phone: str, ip_address: str | None) -> int:
    since = timezone.now() - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    by_phone = LoginFailure.objects.filter(at__gte=since, phone=phone).count()
    by_ip = (
        LoginFailure.objects.filter(at__gte=since, ip_address=ip_address).count()
        if ip_address
        else 0
    )
    # An address is allowed more attempts than one number: several people share a
    # village station's connection.
    return max(by_phone, by_ip // 4)


def user_login(*, request, phone: str, password: str) -> User:
    """Check a phone/password pair with throttling; return the user (not yet logged in).

    Failures are counted per phone number and per address over a sliding window; while
    over the limit, even a correct password is refused, so guessing gains nothing.
    """
    ip_address = request.META.get("REMOTE_ADDR") if request is not None else None
    try:
        key = normalize_phone(phone)
    except ValidationError:
        # NUL removed: PostgreSQL refuses it in text, and the key is stored below.
        key = str(phone).replace("\x00", "")[:32]
    if _recent_failures(phone=key, ip_address=ip_address) >= settings.LOGIN_FAILURE_LIMIT:
        minutes = settings.LOGIN_FAILURE_WINDOW_SECONDS // 60
        raise Throttled(
            _("Too many failed attempts. Try again in %(minutes)d minutes.") % {"minutes": minutes}
        )
    user = authenticate(request, phone=phone, password=password)
    if user is None:
        LoginFailure.objects.create(phone=key, ip_address=ip_address)
        audit_record(
            actor=None,
            action="user.login_failed",
            object_type="accounts.user",
            object_id=key,
            ip_address=ip_address,
        )
        raise NotAuthenticated(_("Wrong phone number or password."), code="bad_credentials")
    LoginFailure.objects.filter(phone=key).delete()
    return user


def role_scope_check(*, role: str, region: Division | None) -> Division | None:
    """The scope a grant of ``role`` takes: ``region`` for a regional role (which must be of
    the right level), None for the others. Shared by the services and the admin's forms."""
    if role not in Role.values:
        raise ValidationError(_("Unknown role %(role)s") % {"role": role}, field="role")
    levels = ROLE_SCOPE_LEVELS.get(role)
    if levels and (region is None or region.level not in levels):
        raise ValidationError(
            _("The %(role)s role needs a scope of level %(levels)s")
            % {"role": role, "levels": " / ".join(sorted(levels))},
            field="region",
        )
    return region if levels else None


@transaction.atomic
def role_grant(
    *, actor: User | str | None, user: User, role: str, region: Division | None = None
) -> RoleGrant:
    """Give ``user`` a role, scoped to ``region`` where the role is regional."""
    region = role_scope_check(role=role, region=region)
    grant, created = RoleGrant.objects.get_or_create(user=user, role=role, region=region)
    if created:
        audit_record(
            actor=actor,
            action="role.grant",
            obj=user,
            after={"role": role, "region": region.code if region else None},
        )
    user.__dict__.pop("_roles_cache", None)
    return grant


@transaction.atomic
def role_revoke(
    *, actor: User | str | None, user: User, role: str, region: Division | None = None
) -> None:
    """Take a role (with that scope) away from ``user``.

    Raises NotFound when the user does not hold it, so a typo in a scope is not silently
    ignored. A regional role needs the scope that was granted; other roles have none.
    """
    if role not in Role.values:
        raise ValidationError(_("Unknown role %(role)s") % {"role": role}, field="role")
    if role not in ROLE_SCOPE_LEVELS:
        region = None
    grant = RoleGrant.objects.filter(user=user, role=role, region=region).first()
    if grant is None:
        message = (
            _("%(phone)s does not hold the %(role)s role for %(code)s.")
            % {"phone": user.phone, "role": role, "code": region.code}
            if region is not None
            else _("%(phone)s does not hold the %(role)s role.")
            % {"phone": user.phone, "role": role}
        )
        raise NotFound(message, field="role")
    grant.delete()
    audit_record(
        actor=actor,
        action="role.revoke",
        obj=user,
        before={"role": role, "region": region.code if region else None},
    )
    user.__dict__.pop("_roles_cache", None)


@transaction.atomic
def user_link_household(*, actor: User | str | None, user: User, household: Household) -> User:
    """Link an account to the household it belongs to (a seller's shop is its household's).

    Linking to the household already linked changes nothing and writes no audit entry.
    """
    if user.household_id == household.pk:
        return user
    before = {"household": user.household_id}
    User.objects.filter(pk=user.pk).update(household=household)
    user.household = household
    audit_record(
        actor=actor,
        action="user.link_household",
        obj=user,
        before=before,
        after={"household": household.pk, "village": household.village_id},
    )
    return user


@transaction.atomic
def user_set_staff(*, actor: User | str | None, user: User, superuser: bool) -> User:
    """Let ``user`` into the administration site; ``superuser`` gives every permission.

    Setting the flags a user already has changes nothing and writes no audit entry.
    """
    if not user.is_active:
        raise ValidationError(_("An inactive account cannot be made staff."), field="user")
    if user.is_staff and user.is_superuser == superuser:
        return user
    before = {"is_staff": user.is_staff, "is_superuser": user.is_superuser}
    User.objects.filter(pk=user.pk).update(is_staff=True, is_superuser=superuser)
    user.is_staff, user.is_superuser = True, superuser
    audit_record(
        actor=actor,
        action="user.set_staff",
        obj=user,
        before=before,
        after={"is_staff": True, "is_superuser": superuser},
    )
    return user


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Create a token; the raw value is returned once and never stored."""
    raw = "tc_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name[:60], digest=token_digest(raw), prefix=raw[:8]
    )
    audit_record(actor=user, action="api_token.create", obj=token)
    return token, raw


def api_token_user(raw: str) -> User | None:
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=token_digest(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


@transaction.atomic
def api_token_revoke(*, user: User, token_id: int) -> bool:
    """Revoke one of ``user``'s active tokens; False when there is no such token."""
    updated = ApiToken.objects.filter(
        Q(pk=token_id) & Q(user=user) & Q(revoked_at__isnull=True)
    ).update(revoked_at=timezone.now())
    if updated:
        audit_record(
            actor=user,
            action="api_token.revoke",
            object_type="accounts.apitoken",
            object_id=token_id,
        )
    return bool(updated)

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from taocun.core.models import TimeStampedModel


class Role(models.TextChoices):
    BUYER = "buyer", _("buyer")
    SELLER = "seller", _("seller")
    AGENT = "agent", _("station agent")
    OFFICER = "officer", _("county officer")
    LENDER = "lender", _("lender")
    PROGRAM_ADMIN = "program_admin", _("program admin")
    ENTERPRISE_REP = "enterprise_rep", _("enterprise representative")


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, phone: str, password: str | None = None, **extra):
        # Used by Django's own machinery (createsuperuser, tests); the product path is
        # accounts.services.user_sign_up, which also validates and audits.
        from taocun.accounts.phones import normalize_phone

        user = self.model(phone=normalize_phone(phone), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, phone: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(phone, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person: logs in with a mainland mobile number and a password (Argon2)."""

    phone = models.CharField(_("phone number"), max_length=16, unique=True)
    display_name = models.CharField(_("display name"), max_length=50, blank=True)
    household = models.ForeignKey(
        "regions.Household",
        verbose_name=_("household"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members_accounts",
    )
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff"), default=False)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "phone"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.phone

    @property
    def roles(self) -> set[str]:
        """The user's roles, cached on the instance for the request."""
        if not hasattr(self, "_roles_cache"):
            self._roles_cache = {grant.role for grant in self.role_grants.all()}
        return self._roles_cache

    def has_role(self, role: str) -> bool:
        return role in self.roles


class RoleGrant(TimeStampedModel):
    """A role held by a user, with its scope.

    The scope is a region: a county officer's grant names their county; a station agent
    holds one grant per area their station serves (a township or a village). Roles with no
    regional limit (buyer, program admin, …) have no region.
    """

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="role_grants"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    region = models.ForeignKey(
        "regions.Division",
        verbose_name=_("scope"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["user_id", "role"]
        verbose_name = _("role grant")
        verbose_name_plural = _("role grants")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "region"], name="rolegrant_unique_scope"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.role} {self.region_id or ''}".strip()


class LoginFailure(models.Model):
    """A failed login, kept for throttling (by phone number and by address)."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    phone = models.CharField(max_length=32, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.phone} {self.at:%Y-%m-%d %H:%M}"


class ApiToken(TimeStampedModel):
    """A bearer token for the REST API. Only a SHA-256 digest is stored."""

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=60, blank=True)
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

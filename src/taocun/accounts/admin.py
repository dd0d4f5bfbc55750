"""The administration site for accounts: users (phone login) with their role grants.

Role grants are written through :func:`taocun.accounts.services.role_grant` and
:func:`~taocun.accounts.services.role_revoke`, so the admin validates scopes like the CLI
and leaves the same audit trail. A grant is never edited in place: revoke it and grant
another. Changes to a user's own fields are audited as ``user.admin_change``.
"""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.translation import gettext_lazy as _

from taocun.accounts import services
from taocun.accounts.models import RoleGrant, User
from taocun.accounts.phones import normalize_phone
from taocun.core.errors import ApplicationError
from taocun.core.services import audit_record

# Recorded by name only: their values are secrets or unwieldy.
UNRECORDED_FIELDS = {"password", "password1", "password2", "usable_password"}
RECORDED_VALUES = ("phone", "display_name", "is_active", "is_staff", "is_superuser")


class PhoneUserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("phone",)
        field_classes: dict = {}

    def clean_phone(self) -> str:
        try:
            phone = normalize_phone(self.cleaned_data["phone"])
        except ApplicationError as error:
            raise forms.ValidationError(error.message) from None
        if User.objects.filter(phone=phone).exists():
            raise forms.ValidationError(_("This phone number already has an account."))
        return phone


class PhoneUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes: dict = {}

    def clean_phone(self) -> str:
        try:
            return normalize_phone(self.cleaned_data["phone"])
        except ApplicationError as error:
            raise forms.ValidationError(error.message) from None


class RoleGrantForm(forms.ModelForm):
    """Checks the scope with the service's own rule, so an error shows next to the field."""

    class Meta:
        model = RoleGrant
        fields = ("user", "role", "region")

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("role"):
            try:
                services.role_scope_check(role=cleaned["role"], region=cleaned.get("region"))
            except ApplicationError as error:
                raise forms.ValidationError({error.field or "role": error.message}) from None
        return cleaned


class RoleGrantInline(admin.TabularInline):
    """Existing grants are shown read-only (revoke with "delete"); new ones can be added."""

    model = RoleGrant
    form = RoleGrantForm
    fields = ("role", "region", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("region",)
    extra = 0

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = PhoneUserChangeForm
    add_form = PhoneUserCreationForm
    inlines = (RoleGrantInline,)
    fieldsets = (
        (None, {"fields": ("phone", "password")}),
        (_("Profile"), {"fields": ("display_name", "household")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("phone", "usable_password", "password1", "password2"),
            },
        ),
    )
    list_display = ("phone", "display_name", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active", "role_grants__role")
    search_fields = ("phone", "display_name")
    ordering = ("phone",)
    raw_id_fields = ("household",)

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        changed = sorted(form.changed_data)
        audit_record(
            actor=request.user,
            action="user.admin_change" if change else "user.admin_create",
            obj=obj,
            after={
                "fields": changed,
                **{
                    name: getattr(obj, name)
                    for name in RECORDED_VALUES
                    if name in changed and name not in UNRECORDED_FIELDS
                },
            },
            ip_address=request.META.get("REMOTE_ADDR"),
        )

    def save_formset(self, request, form, formset, change) -> None:
        if formset.model is not RoleGrant:
            super().save_formset(request, form, formset, change)
            return
        formset.save(commit=False)
        for grant in formset.deleted_objects:
            services.role_revoke(
                actor=request.user, user=form.instance, role=grant.role, region=grant.region
            )
        for grant in formset.new_objects:
            services.role_grant(
                actor=request.user, user=form.instance, role=grant.role, region=grant.region
            )


@admin.register(RoleGrant)
class RoleGrantAdmin(admin.ModelAdmin):
    form = RoleGrantForm
    list_display = ("user", "role", "region", "created_at")
    list_filter = ("role",)
    search_fields = ("user__phone", "user__display_name", "region__code", "region__name")
    list_select_related = ("user", "region")
    autocomplete_fields = ("user", "region")

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # revoke and grant again: a grant is never edited in place

    def save_model(self, request, obj, form, change) -> None:
        grant = services.role_grant(
            actor=request.user, user=obj.user, role=obj.role, region=obj.region
        )
        obj.pk = grant.pk

    def delete_model(self, request, obj) -> None:
        services.role_revoke(actor=request.user, user=obj.user, role=obj.role, region=obj.region)

    def delete_queryset(self, request, queryset) -> None:
        for grant in queryset.select_related("user", "region"):
            self.delete_model(request, grant)

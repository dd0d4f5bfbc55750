"""Read-only admin: the books are changed by services only (a correction is a new
transaction, never an edit), so nothing here can add, change or delete."""

from django.contrib import admin

from taocun.payments.models import (
    Escrow,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    PaymentIntent,
    Payout,
    Refund,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class EntryInline(admin.TabularInline):
    model = LedgerEntry
    fields = ["account", "amount_fen"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin):
    list_display = ["kind", "owner", "currency", "created_at"]
    list_filter = ["kind", "currency"]
    search_fields = ["owner"]


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "reference", "currency", "created_at"]
    list_filter = ["kind", "currency"]
    search_fields = ["reference", "idempotency_key"]
    inlines = [EntryInline]


@admin.register(PaymentIntent)
class PaymentIntentAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "reference", "amount_fen", "currency", "status", "created_at"]
    list_filter = ["status", "provider"]
    search_fields = ["public_id", "reference", "provider_payment_id"]


@admin.register(Escrow)
class EscrowAdmin(ReadOnlyAdmin):
    list_display = ["reference", "seller", "amount_fen", "refunded_fen", "status", "release_after"]
    list_filter = ["status"]
    search_fields = ["reference"]
    list_select_related = ["seller"]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["id", "escrow", "amount_fen", "stage", "created_at"]
    list_filter = ["stage"]
    list_select_related = ["escrow"]


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    list_display = ["id", "seller", "amount_fen", "currency", "status", "created_at"]
    list_filter = ["status"]
    list_select_related = ["seller"]

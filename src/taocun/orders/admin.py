"""Read-only views of orders for staff: every change goes through the services."""

from django.contrib import admin

from taocun.orders.models import Checkout, Order, OrderEvent, OrderLine


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    can_delete = False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ["id", "status", "shop", "buyer", "total_fen", "refunded_fen", "created_at"]
    list_filter = ["status"]
    search_fields = ["id", "tracking_number"]
    inlines = [OrderLineInline, OrderEventInline]


@admin.register(Checkout)
class CheckoutAdmin(ReadOnlyAdmin):
    list_display = ["id", "status", "buyer", "total_fen", "expires_at", "created_at"]
    list_filter = ["status"]

"""Admin views of the catalog: for looking, not for editing. Shops and products change only
through the services (which keep derived columns, the search index and the audit log in
step); the one thing staff set here is a category's names, order and commission rate, the
commission through its audited service."""

from django.contrib import admin

from taocun.market import services
from taocun.market.models import Category, Product, Shop, Variant


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["slug", "name_zh_hans", "name_en", "parent", "commission_rate_bp", "position"]
    list_filter = ["is_featured", "is_active"]
    search_fields = ["slug", "name_zh_hans", "name_en", "name_fr"]
    readonly_fields = ["created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        rate = obj.commission_rate_bp
        if change and "commission_rate_bp" in form.changed_data:
            obj.commission_rate_bp = form.initial["commission_rate_bp"]
            super().save_model(request, obj, form, change)
            services.category_commission_set(actor=request.user, category=obj, rate_bp=rate)
        else:
            super().save_model(request, obj, form, change)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Shop)
class ShopAdmin(ReadOnlyAdmin):
    list_display = ["name", "status", "village", "created_at", "verified_at"]
    list_filter = ["status"]
    search_fields = ["name", "village__name"]
    list_select_related = ["village"]


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 0
    can_delete = False
    fields = ["label", "sku", "unit", "weight_g", "price_fen", "stock", "is_active"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Product)
class ProductAdmin(ReadOnlyAdmin):
    list_display = ["name", "shop", "category", "price_min_fen", "in_stock", "is_listed"]
    list_filter = ["is_listed", "in_stock", "category"]
    search_fields = ["name"]
    list_select_related = ["shop", "category"]
    inlines = [VariantInline]
    show_full_result_count = False  # a million products: no COUNT(*) per page

"""Admin views of reviews and reports: for looking, not for editing. Reviews change only
through the services, which keep the shop and product ratings in step."""

from django.contrib import admin

from taocun.reviews.models import Report, Review


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ["id", "product", "shop", "buyer", "stars", "status", "created_at"]
    list_filter = ["status", "stars"]
    raw_id_fields = ["line", "buyer", "product", "shop", "moderated_by", "reply_by"]


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    list_display = ["id", "review", "reporter", "reason", "created_at", "resolved_at"]
    list_filter = ["reason"]
    raw_id_fields = ["review", "reporter", "resolved_by"]

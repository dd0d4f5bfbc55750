"""The administration site for the region registry: read-mostly.

Divisions are written by the divisions import and households by the services, which
validate and audit; the admin is for looking things up, so it neither adds, edits nor
deletes.
"""

from django.contrib import admin

from taocun.regions.models import Division, Household


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Division)
class DivisionAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "level", "parent", "households", "poverty", "demo_invented")
    list_filter = ("level", "poverty", "demo_invented")
    # "^code": a code prefix finds a subtree through the primary-key index.
    search_fields = ("^code", "name")
    list_select_related = ("parent",)
    show_full_result_count = False  # the national table has 713,034 rows
    raw_id_fields = ("parent",)


@admin.register(Household)
class HouseholdAdmin(ReadOnlyAdmin):
    list_display = ("id", "head_name", "village", "members", "members_away", "registered_poor")
    list_filter = ("registered_poor",)
    search_fields = ("head_name", "^village__code", "village__name")
    list_select_related = ("village",)
    raw_id_fields = ("village",)

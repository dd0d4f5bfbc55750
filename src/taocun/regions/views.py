"""Pages of the region registry: browse the tree, search by name, households by scope.

Views parse, check access (regions.access), call a selector and render; labels for coded
values live here because they are presentation only.
"""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from taocun.regions import selectors
from taocun.regions.access import ALL_VILLAGES, access_scope_villages, access_village_households
from taocun.regions.models import Level

PAGE_SIZE = 50

COMMITTEE_LABELS = {
    "residents": _("residents' committee (居委会)"),
    "village": _("village committee (村委会)"),
    "residents_like": _("like a residents' committee"),
    "village_like": _("like a village committee"),
}

# NBS urban/rural classification codes (城乡分类代码).
UR_CODE_LABELS = {
    "111": _("main urban area"),
    "112": _("urban-rural fringe"),
    "121": _("town centre"),
    "122": _("town-rural fringe"),
    "123": _("special area"),
    "210": _("township centre"),
    "220": _("village"),
}


def _page(request: HttpRequest, items) -> Page:
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


def browse(request: HttpRequest) -> HttpResponse:
    return render(
        request, "regions/browse.html", {"children": selectors.division_children(parent=None)}
    )


def division_detail(request: HttpRequest, code: str) -> HttpResponse:
    division = selectors.division_get(code=code)
    is_village = division.level == Level.VILLAGE
    return render(
        request,
        "regions/detail.html",
        {
            "division": division,
            "ancestors": selectors.division_ancestors(division=division),
            "children": _page(request, selectors.division_children(parent=division)),
            "village_count": None
            if is_village
            else selectors.division_village_count(division=division),
            "is_village": is_village,
            "committee_label": COMMITTEE_LABELS.get(division.committee_kind, ""),
            "ur_label": UR_CODE_LABELS.get(division.ur_code, ""),
        },
    )


def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    results = list(selectors.division_search(query=query, limit=50)) if query else []
    is_htmx = request.headers.get("HX-Request") == "true"
    template = "regions/_search_results.html" if is_htmx else "regions/search.html"
    return render(request, template, {"q": query, "results": results, "is_htmx": is_htmx})


@login_required
def households(request: HttpRequest, code: str) -> HttpResponse:
    village = access_village_households(
        user=request.user,
        village=selectors.division_get(code=code),
        ip_address=request.META.get("REMOTE_ADDR"),
    )
    return render(
        request,
        "regions/households.html",
        {
            "village": village,
            "ancestors": selectors.division_ancestors(division=village),
            "households": _page(request, selectors.village_households(village=village)),
        },
    )


@login_required
def my_households(request: HttpRequest) -> HttpResponse:
    """The villages whose households the user may see: an officer's county, an agent's
    areas. Program staff see every village, so they are pointed to the browser instead."""
    scope = access_scope_villages(user=request.user, ip_address=request.META.get("REMOTE_ADDR"))
    sees_all = scope == ALL_VILLAGES
    return render(
        request,
        "regions/my_households.html",
        {
            "sees_all": sees_all,
            "villages": _page(
                request, selectors.division_villages_under(prefixes=[] if sees_all else scope)
            ),
        },
    )

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from taocun.regions import selectors
from taocun.regions.access import access_village_households


def browse(request):
    return render(request, "regions/browse.html", {"children": selectors.division_children(parent=None)})


def division_detail(request, code: str):
    division = selectors.division_get(code=code)
    return render(
        request,
        "regions/detail.html",
        {
            "division": division,
            "ancestors": selectors.division_ancestors(division=division),
            "children": selectors.division_children(parent=division),
        },
    )


def search(request):
    query = request.GET.get("q", "").strip()
    results = selectors.division_search(query=query) if query else []
    return render(request, "regions/search.html", {"q": query, "results": results})


@login_required
def households(request, code: str):
    village = access_village_households(user=request.user, village=selectors.division_get(code=code))
    return render(
        request,
        "regions/households.html",
        {"village": village, "households": selectors.village_households(village=village)},
    )


@login_required
def my_households(request):
    return render(request, "regions/my_households.html", {})

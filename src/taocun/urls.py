from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

from taocun.api import api


def media(request, path):
    """Uploaded files, from MEDIA_ROOT as it is now (read per request, so tests can move it)."""
    return serve(request, path, document_root=settings.MEDIA_ROOT)


urlpatterns = [
    path("", include("taocun.web.urls")),
    path("accounts/", include("taocun.accounts.urls")),
    path("regions/", include("taocun.regions.urls")),
    path("labels/", include("taocun.labels.urls")),
    path("market/", include("taocun.market.urls")),
    path("payments/", include("taocun.payments.urls")),
    path("orders/", include("taocun.orders.urls")),
    path("notifications/", include("taocun.notifications.urls")),
    path("reviews/", include("taocun.reviews.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    # Uploaded photos. Fine for the demo and small sites; in production the web server
    # serves MEDIA_ROOT itself (see docs/market.md) and this route is never reached.
    re_path(r"^media/(?P<path>.+)$", media),
]

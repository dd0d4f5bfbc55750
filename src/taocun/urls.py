from django.contrib import admin
from django.urls import include, path

from taocun.api import api

urlpatterns = [
    path("", include("taocun.web.urls")),
    path("accounts/", include("taocun.accounts.urls")),
    path("regions/", include("taocun.regions.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]

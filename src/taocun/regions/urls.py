from django.urls import path

from taocun.regions import views

app_name = "regions"
urlpatterns = [
    path("", views.browse, name="browse"),
    path("search/", views.search, name="search"),
    path("households/", views.my_households, name="my_households"),
    path("<str:code>/", views.division_detail, name="detail"),
    path("<str:code>/households/", views.households, name="households"),
]

from django.urls import path

from taocun.labels import views

app_name = "labels"
urlpatterns = [
    path("", views.evaluation_list, name="evaluation_list"),
    path("evaluations/new/", views.evaluation_new, name="evaluation_new"),
    path("evaluations/<int:pk>/", views.evaluation_detail, name="evaluation_detail"),
    path("evaluations/<int:pk>/progress/", views.evaluation_progress, name="evaluation_progress"),
    path(
        "evaluations/<int:pk>/villages/<str:code>/",
        views.village_detail,
        name="village_detail",
    ),
    path(
        "evaluations/<int:pk>/clusters/<int:cluster_id>/",
        views.cluster_detail,
        name="cluster_detail",
    ),
    path("villages/", views.village_list, name="village_list"),
    path("villages.csv", views.village_csv, name="village_csv"),
    path("villages/<str:code>/", views.village_latest, name="village_latest"),
    path("towns/", views.town_list, name="town_list"),
    path("clusters/", views.cluster_list, name="cluster_list"),
    path("map/", views.map_page, name="map"),
    path("rounds/", views.rounds, name="rounds"),
]

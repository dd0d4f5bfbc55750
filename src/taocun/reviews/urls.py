from django.urls import path

from taocun.reviews import views

app_name = "reviews"
urlpatterns = [
    path("mine/", views.mine, name="mine"),
    path("line/<int:line_id>/", views.line_review, name="line"),
    path("product/<int:product_id>/", views.product, name="product"),
    path("shop/<int:shop_id>/", views.shop, name="shop"),
    path("<int:review_id>/report/", views.report, name="report"),
    path("desk/", views.desk, name="desk"),
    path("<int:review_id>/reply/", views.reply, name="reply"),
    path("moderation/", views.moderation, name="moderation"),
    path("<int:review_id>/moderate/<str:action>/", views.moderate, name="moderate"),
]

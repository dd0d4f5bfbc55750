from django.urls import path

from taocun.market import views

app_name = "market"
urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("c/<slug:slug>/", views.category, name="category"),
    path("p/<int:product_id>/", views.product, name="product"),
    path("shop/<int:shop_id>/", views.shop, name="shop"),
    path("village/<str:code>/", views.village, name="village"),
    # The seller's pages.
    path("sell/", views.sell, name="sell"),
    path("sell/open/", views.shop_open, name="sell_open"),
    path("sell/shop/", views.shop_edit, name="sell_shop"),
    path("sell/shipping/", views.shop_shipping, name="sell_shipping"),
    path("sell/submit/", views.shop_submit, name="sell_submit"),
    path("sell/photos/", views.shop_photos, name="sell_photos"),
    path(
        "sell/photos/<str:kind>/<int:photo_id>/delete/",
        views.photo_delete,
        name="sell_photo_delete",
    ),
    path("sell/products/new/", views.product_new, name="sell_product_new"),
    path("sell/products/<int:product_id>/", views.product_edit, name="sell_product"),
    path("sell/products/<int:product_id>/variants/", views.variant_add, name="sell_variant_add"),
    path(
        "sell/products/<int:product_id>/photos/", views.product_photos, name="sell_product_photos"
    ),
    path("sell/variants/<int:variant_id>/", views.variant_edit, name="sell_variant"),
    # Station agents and county officers.
    path("review/", views.review, name="review"),
    path("review/<int:shop_id>/<str:action>/", views.review_action, name="review_action"),
]

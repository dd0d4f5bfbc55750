from django.urls import path

from taocun.orders import views

app_name = "orders"
urlpatterns = [
    path("", views.order_list, name="list"),
    path("cart/", views.cart, name="cart"),
    path("cart/add/", views.cart_add, name="cart_add"),
    path("cart/update/", views.cart_update, name="cart_update"),
    path("checkout/", views.checkout, name="checkout"),
    path("checkout/<int:checkout_id>/", views.checkout_result, name="checkout_result"),
    path("<int:order_id>/", views.order_detail, name="detail"),
    path("<int:order_id>/<slug:action>/", views.order_action, name="action"),
    path("desk/", views.desk, name="desk"),
    path("desk/<int:order_id>/", views.desk_detail, name="desk_detail"),
    path("addresses/", views.address_book, name="addresses"),
    path("addresses/new/", views.address_new, name="address_new"),
    path("addresses/<int:address_id>/", views.address_edit, name="address_edit"),
    path("addresses/<int:address_id>/delete/", views.address_delete, name="address_delete"),
    path("addresses/<int:address_id>/default/", views.address_default, name="address_default"),
    path("parcels/", views.parcels, name="parcels"),
    path("parcels/<int:order_id>/deliver/", views.parcel_deliver, name="parcel_deliver"),
]

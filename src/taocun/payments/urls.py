"""Mounted at /payments/: the seller's money pages, the sandbox provider's hosted pay page
and the providers' callback endpoint."""

from django.urls import path

from taocun.payments import views

app_name = "payments"
urlpatterns = [
    path("money/", views.money, name="money"),
    path("money/<int:shop_id>/", views.shop_money, name="shop_money"),
    path("sandbox/pay/<str:public_id>/", views.sandbox_pay, name="sandbox_pay"),
    path("callback/<str:provider>/", views.callback, name="callback"),
]

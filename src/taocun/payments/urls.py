"""Mounted at /payments/: the sandbox provider's hosted pay page and the providers'
callback endpoint."""

from django.urls import path

from taocun.payments import views

app_name = "payments"
urlpatterns = [
    path("sandbox/pay/<str:public_id>/", views.sandbox_pay, name="sandbox_pay"),
    path("callback/<str:provider>/", views.callback, name="callback"),
]

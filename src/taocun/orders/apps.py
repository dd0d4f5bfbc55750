from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "taocun.orders"
    label = "orders"
    verbose_name = _("Orders")

    def ready(self) -> None:
        # Connect the receivers of payments' domain events and of logins (cart merge).
        from taocun.orders import receivers  # noqa: F401

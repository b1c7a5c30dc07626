from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments")

    def ready(self) -> None:
        # piecework refuses logs into closed payroll months; payroll, above it, says which are closed
        from brokers.services.piecework import closed_months_from

        from .payroll import latest_closed_months

        closed_months_from(latest_closed_months)

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("invoices", views.InvoiceViewSet, basename="invoice")
router.register("payroll-runs", views.PayrollRunViewSet, basename="payroll-run")
router.register("payout-batches", views.PayoutBatchViewSet, basename="payout-batch")
router.register("payslips", views.PayslipViewSet, basename="payslip")
router.register("ledger/accounts", views.AccountViewSet, basename="ledger-account")

urlpatterns = [
    path("receivables/", views.ReceivablesView.as_view(), name="receivables"),
    path("me/earnings/", views.MyEarningsView.as_view(), name="my-earnings"),
    *router.urls,
]

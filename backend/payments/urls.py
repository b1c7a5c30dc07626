from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("invoices", views.InvoiceViewSet, basename="invoice")

urlpatterns = [path("receivables/", views.ReceivablesView.as_view(), name="receivables"), *router.urls]

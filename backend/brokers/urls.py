from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("workers", views.WorkerViewSet, basename="worker")
router.register("broker-profiles", views.BrokerProfileViewSet, basename="broker-profile")
router.register("villages", views.VillageViewSet, basename="village")
router.register("bundles", views.BundleViewSet, basename="bundle")
router.register("piece-logs", views.PieceLogViewSet, basename="piece-log")
router.register("disputes", views.DisputeViewSet, basename="dispute")
router.register("attendance", views.AttendanceViewSet, basename="attendance")
router.register("availability", views.AvailabilityViewSet, basename="availability")
router.register("brokers/me/loans", views.MyLoanViewSet, basename="my-loan")
router.register(r"brokers/(?P<broker_id>\d+)/loans", views.BrokerLoanViewSet, basename="broker-loan")

urlpatterns = [
    path("piece-rates/", views.PieceRateView.as_view(), name="piece-rates"),
    # me/earnings/ is served by payments (it shows payslips beside the provisional lines)
    *router.urls,
]

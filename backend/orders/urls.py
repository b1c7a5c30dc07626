from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("orders", views.OrderViewSet, basename="order")
router.register("bids", views.BidViewSet, basename="bid")
router.register("awards", views.AwardViewSet, basename="award")
router.register("dispatches", views.DispatchViewSet, basename="dispatch")
router.register("deliveries", views.DeliveryViewSet, basename="delivery")
router.register("subcontracts", views.SubcontractViewSet, basename="subcontract")

urlpatterns = router.urls

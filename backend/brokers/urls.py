from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("workers", views.WorkerViewSet, basename="worker")

urlpatterns = router.urls

from rest_framework import mixins, viewsets

from accounts.models import Role
from accounts.permissions import BROKER_STAFF, HasRole, visible_workers

from .models import Worker
from .serializers import WorkerSerializer


class WorkerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Workers the caller may see: a broker its workforce, an auditor the county's, a worker
    themself. Firms have no access to workers."""

    queryset = Worker.objects.none()  # the schema generator's model; requests use get_queryset
    serializer_class = WorkerSerializer
    permission_classes = [HasRole.of(*BROKER_STAFF, Role.AUDITOR, Role.WORKER)]
    filterset_fields = ["village", "work_mode"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return visible_workers(self.request.user)

from rest_framework import serializers

from accounts.serializers import JurisdictionBriefSerializer

from .models import Worker


class WorkerSerializer(serializers.ModelSerializer):
    village = JurisdictionBriefSerializer(read_only=True)
    work_mode_label = serializers.CharField(source="get_work_mode_display", read_only=True)
    # The full ID is never sent by this endpoint; the workforce issue decides who sees it.
    national_id_masked = serializers.CharField(read_only=True)

    class Meta:
        model = Worker
        fields = ["id", "name", "phone", "national_id_masked", "village", "work_mode", "work_mode_label", "household_tags"]

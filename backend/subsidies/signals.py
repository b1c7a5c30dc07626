"""What subsidies records when something happens below it: the brokers app decides village
statuses and knows nothing of subsidies (apps depend one way), so the audit event of a
decision is written here, from the brokers model's post_save, in the decision's transaction."""
from __future__ import annotations

from django.db.models.signals import post_save

from .models import AuditEvent
from .services import audit

VILLAGE_STATUS = "brokers.ProfessionalVillageStatus"


def village_status_recorded(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    """A new status record (designated, meeting the criteria or revoked) is the action
    "designate a village": who decided, for which village and county, and what."""
    if not created or raw:
        return
    audit.record(actor=instance.decided_by, action=AuditEvent.Action.DESIGNATE_VILLAGE, object_type="village",
                 object_id=instance.village_id, county_id=instance.village.county_id,
                 after={"status_record": instance.pk, "is_professional": instance.is_professional,
                        "basis": instance.basis, "effective_from": instance.effective_from,
                        "evidence": instance.evidence})


def connect() -> None:
    """Called once from SubsidiesConfig.ready."""
    post_save.connect(village_status_recorded, sender=VILLAGE_STATUS, dispatch_uid="subsidies.village_status_recorded")

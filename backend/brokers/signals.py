"""Every broker organisation has a profile row from the moment it exists, so reads never write."""
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import Organisation

from .models import BrokerProfile


@receiver(post_save, sender=Organisation)
def broker_profile_for_new_broker(sender, instance: Organisation, created: bool, raw: bool = False, **kwargs):
    if created and not raw and instance.kind == Organisation.Kind.BROKER:
        BrokerProfile.objects.get_or_create(organisation=instance)

"""Give every existing broker organisation its profile (new ones get it on creation)."""
from django.db import migrations


def forwards(apps, schema_editor):
    Organisation = apps.get_model("accounts", "Organisation")
    BrokerProfile = apps.get_model("brokers", "BrokerProfile")
    missing = Organisation.objects.filter(kind="broker", broker_profile__isnull=True)
    BrokerProfile.objects.bulk_create([BrokerProfile(organisation=o) for o in missing])


class Migration(migrations.Migration):
    dependencies = [("brokers", "0003_piecelog_composite_indexes_only")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

"""Ship Suichang's 2009 policy (DESIGN.md's table, every open reading at its default)."""
from django.db import migrations


def forwards(apps, schema_editor):
    from subsidies import suichang

    suichang.load(apps)


class Migration(migrations.Migration):
    dependencies = [("subsidies", "0001_initial"), ("accounts", "0004_alter_organisation_kind")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

"""Attachments record the type checked from their bytes, the client's name (for the download only)
and their size (the per-order total). Rows from before keep an empty content_type: they are
served as application/octet-stream downloads (Attachment.served_content_type)."""
from django.db import migrations, models


def existing_names_and_sizes(apps, schema_editor):
    Attachment = apps.get_model("orders", "Attachment")
    for attachment in Attachment.objects.filter(original_name="").iterator():
        attachment.original_name = attachment.file.name.rsplit("/", 1)[-1][:255]
        try:
            attachment.size = attachment.file.size
        except OSError:  # a file lost from storage counts nothing
            attachment.size = 0
        attachment.save(update_fields=["original_name", "size"])


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='attachment',
            name='content_type',
            field=models.CharField(blank=True, max_length=100, verbose_name='checked content type'),
        ),
        migrations.AddField(
            model_name='attachment',
            name='original_name',
            field=models.CharField(blank=True, max_length=255, verbose_name='original name'),
        ),
        migrations.AddField(
            model_name='attachment',
            name='size',
            field=models.PositiveBigIntegerField(default=0, verbose_name='size in bytes'),
        ),
        migrations.RunPython(existing_names_and_sizes, migrations.RunPython.noop),
    ]

"""`manage.py healthcheck`: the /healthz report on the command line; exit 1 when anything is down.
Used by container health checks and by operators."""
import json
import sys

from django.core.management.base import BaseCommand

from core.health import overall


class Command(BaseCommand):
    help = "Check the database, channel layer and task queue; print JSON; exit 1 if any is down."

    def handle(self, *args, **options):
        report = overall()
        self.stdout.write(json.dumps(report, ensure_ascii=False, indent=2))
        if report["status"] != "ok":
            sys.exit(1)

"""`manage.py seed_demo`: build (or find) the demo county and print the demo logins."""
from django.conf import settings
from django.core.management.base import BaseCommand

from core.demo import build_demo


class Command(BaseCommand):
    help = "Load the demo Suichang county (idempotent) and print the demo logins."

    def handle(self, *args, **options):
        logins = build_demo()
        self.stdout.write(self.style.SUCCESS("Demo data ready. Demo logins:"))
        for login in logins:
            self.stdout.write(f"  {login.username:<10} {login.role:<13} {login.who}")
        self.stdout.write(f"  password for every demo account: {settings.DEMO_PASSWORD}")

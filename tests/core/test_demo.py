"""The demo county: what `make run` loads, and loading it twice changes nothing."""
from __future__ import annotations

from collections import Counter

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import Jurisdiction, Organisation, Role, User
from brokers.models import HouseholdTag, Membership, Worker
from core.demo import national_id

pytestmark = pytest.mark.django_db


def counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in (Jurisdiction, Organisation, User, Worker, Membership)}


def test_demo_is_a_believable_suichang_and_idempotent(capsys, settings):
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")
    assert counts() == first

    out = capsys.readouterr().out
    assert settings.DEMO_PASSWORD in out
    for username in ["admin", "firm", "broker1", "broker2", "broker3", "auditor", "worker1"]:
        assert f"  {username} " in out

    lishui = Jurisdiction.objects.get(name="丽水市")
    assert lishui.children.filter(level="county").count() == 9
    suichang = Jurisdiction.objects.get(name="遂昌县")
    assert suichang.county_id == suichang.pk
    villages = Jurisdiction.objects.filter(level="village", county=suichang)
    assert villages.count() == 3

    assert Organisation.objects.filter(kind="firm", jurisdiction__name="义乌市").count() == 1
    assert Organisation.objects.filter(kind="broker").count() == 3
    assert Organisation.objects.filter(kind="federation", jurisdiction=suichang).count() == 1
    assert User.objects.filter(role=Role.AUDITOR).count() == 1
    assert User.objects.filter(role=Role.ADMIN, is_superuser=True).count() == 1

    assert Worker.objects.count() == 60
    assert Counter(Worker.objects.values_list("village__name", flat=True)) == {"大柘村": 20, "苏村": 20, "淤溪村": 20}
    tags = Counter(tag for row in Worker.objects.values_list("household_tags", flat=True) for tag in row)
    assert tags[HouseholdTag.POOR_HOUSEHOLD] > 0 and tags[HouseholdTag.ELDERLY] > 0
    assert Membership.objects.filter(ended_on__isnull=True).count() == 60


def test_demo_logins_work(settings):
    call_command("seed_demo")
    for username in ["broker1", "13905782000"]:  # a worker logs in with her phone
        response = APIClient().post("/api/auth/token/", {"username": username, "password": settings.DEMO_PASSWORD},
                                    format="json")
        assert response.status_code == 200, response.json()


def test_national_id_checksum():
    from datetime import date

    # GB 11643 worked example: 11010519491231002X
    assert national_id("110105", date(1949, 12, 31), 2) == "11010519491231002X"

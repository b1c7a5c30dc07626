"""The broker's workforce through the API: registering and enrolling workers (duplicate national
IDs), logins, the broker profile, attendance in bulk, availability and weekly capacity."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import User
from brokers.models import Attendance, Availability, BrokerProfile, Membership, Worker

from ..factories import WorkerFactory
from .api_world import api_world, extra_worker, refused_and_unchanged, rows_of  # noqa: F401

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def new_worker(world, **overrides) -> dict:
    return {"name": "陈美华", "phone": "13700000001", "national_id": "33112319850303002x",
            "village": world.p.home["village"].pk, "work_mode": "centre",
            "household_tags": ["poor_household", "left_behind_woman"], **overrides}


# --- registering and enrolling -----------------------------------------------------------------

def test_register_a_worker(api_world, client_for):
    world = api_world
    response = client_for(world.p.team_head).post("/api/workers/", new_worker(world, password="a-long-password"),
                                                  format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["national_id"], body["national_id_masked"], body["work_mode"], body["household_tags"],
            body["has_login"]) == ("33112319850303002X", "3311**********002X", "centre",
                                   ["poor_household", "left_behind_woman"], True)
    worker = Worker.objects.get(pk=body["id"])
    assert list(worker.memberships.values_list("broker_id", "started_on", "ended_on")) == [
        (world.p.broker_org.pk, TODAY(), None)]
    assert worker.user.phone == "13700000001" and worker.user.check_password("a-long-password")


@pytest.mark.parametrize("who", ["broker", "rival_broker"])
def test_a_national_id_is_registered_once(api_world, client_for, who):
    world = api_world
    # her ID as registered (upper-case X), sent in lower case; and the worker's ID from the world
    assert client_for(world.p.broker).post("/api/workers/", new_worker(world), format="json").status_code == 201
    for national_id in ("33112319850303002x", "33112319850303002X", world.p.worker_record.national_id):
        response = refused_and_unchanged(lambda: client_for(world.user(who)).post(
            "/api/workers/", new_worker(world, name="别人", phone="", national_id=national_id), format="json"),
            409, "duplicate_national_id")
        assert set(response.json()["fields"]) == {"national_id"}


def test_a_worker_without_national_id_may_be_registered_twice(api_world, client_for):
    world = api_world
    broker = client_for(world.p.broker)
    for phone in ("13700000001", "13700000002"):
        data = new_worker(world, phone=phone)
        del data["national_id"]
        assert broker.post("/api/workers/", data, format="json").status_code == 201
    assert Worker.objects.filter(name="陈美华", national_id__isnull=True).count() == 2


def test_enrol_the_registered_worker_by_national_id_and_name(api_world, client_for):
    world = api_world
    her = world.p.worker_record
    rival = client_for(world.p.rival_broker)
    # given the rival tried to register her again
    assert rival.post("/api/workers/", new_worker(world, name=her.name, national_id=her.national_id),
                      format="json").json()["code"] == "duplicate_national_id"

    # the name must match the ID
    refused_and_unchanged(lambda: rival.post("/api/workers/enrol/", {"national_id": her.national_id,
                                                                     "name": "王秀"}, format="json"), 404)
    refused_and_unchanged(lambda: rival.post("/api/workers/enrol/", {"national_id": "331123199909090099",
                                                                     "name": her.name}, format="json"), 404)

    enrolled = rival.post("/api/workers/enrol/", {"national_id": her.national_id.lower(), "name": her.name},
                          format="json")
    assert enrolled.status_code == 201, enrolled.json()
    assert enrolled.json()["id"] == her.pk

    # she works for both now: both see her, both may log for her
    assert {w["name"] for w in rows_of(rival.get("/api/workers/"))} == {"李桂兰", "王秀英"}
    assert {w["name"] for w in rows_of(client_for(world.p.broker).get("/api/workers/"))} == {"王秀英", "赵小红"}
    assert set(her.memberships.filter(ended_on__isnull=True).values_list("broker_id", flat=True)) == {
        world.p.broker_org.pk, world.p.rival_org.pk}
    # enrolling again is refused
    refused_and_unchanged(lambda: rival.post("/api/workers/enrol/", {"national_id": her.national_id,
                                                                     "name": her.name}, format="json"),
                          409, "already_member")
    # she still sees one record: herself
    assert [w["id"] for w in rows_of(client_for(world.p.worker).get("/api/workers/"))] == [her.pk]


def test_a_former_worker_is_enrolled_again_with_a_new_membership(api_world, client_for):
    world = api_world
    her = world.p.worker_record
    broker = client_for(world.p.broker)
    assert broker.post(f"/api/workers/{her.pk}/end-membership/", {"ended_on": TODAY().isoformat()},
                       format="json").status_code == 204
    # ending it twice: there is no open membership any more
    refused_and_unchanged(lambda: broker.post(f"/api/workers/{her.pk}/end-membership/", {}, format="json"), 404)
    again = broker.post("/api/workers/enrol/", {"national_id": her.national_id, "name": her.name,
                                                "started_on": TODAY().isoformat()}, format="json")
    assert again.status_code == 201, again.json()
    assert list(Membership.objects.filter(worker=her).order_by("pk").values_list("ended_on", flat=True)) == [
        TODAY(), None]


def test_a_membership_cannot_end_before_it_started(api_world, client_for):
    world = api_world
    started = world.nologin.memberships.get().started_on
    response = refused_and_unchanged(lambda: client_for(world.p.broker).post(
        f"/api/workers/{world.nologin.pk}/end-membership/",
        {"ended_on": (started - dt.timedelta(days=1)).isoformat()}, format="json"), 400)
    assert set(response.json()["fields"]) == {"ended_on"}


def test_patch_never_changes_the_national_id(api_world, client_for):
    world = api_world
    her = world.p.worker_record
    response = client_for(world.p.broker).patch(f"/api/workers/{her.pk}/", {
        "national_id": "331123199909090099", "household_tags": ["disabled"], "work_mode": "factory"}, format="json")
    assert response.status_code == 200, response.json()
    her.refresh_from_db()
    assert (her.national_id, her.household_tags, her.work_mode) == (world.p.worker_record.national_id,
                                                                    ["disabled"], "factory")


def test_patch_refuses_a_place_that_is_not_a_village(api_world, client_for):
    world = api_world
    response = refused_and_unchanged(lambda: client_for(world.p.broker).patch(
        f"/api/workers/{world.p.worker_record.pk}/", {"village": world.p.home["township"].pk}, format="json"), 400)
    assert set(response.json()["fields"]) == {"village"}


def test_a_login_for_a_worker_needs_her_phone_and_a_free_number(api_world, client_for):
    world = api_world
    broker = client_for(world.p.broker)
    phoneless = extra_worker(world.p, world.p.broker, phone="")
    refused_and_unchanged(lambda: broker.post(f"/api/workers/{phoneless.pk}/login/", {"password": "a-long-password"},
                                              format="json"), 400)
    taken = extra_worker(world.p, world.p.broker, phone=world.p.worker.phone)
    refused_and_unchanged(lambda: broker.post(f"/api/workers/{taken.pk}/login/", {"password": "a-long-password"},
                                              format="json"), 409, "phone_taken")
    short = refused_and_unchanged(lambda: broker.post(f"/api/workers/{world.nologin.pk}/login/",
                                                      {"password": "short"}, format="json"), 400)
    assert set(short.json()["fields"]) == {"password"}
    made = broker.post(f"/api/workers/{world.nologin.pk}/login/", {"password": "a-long-password"}, format="json")
    assert made.status_code == 201
    user = User.objects.get(worker=world.nologin)
    assert (user.username, user.role) == ("13900000009", "worker")
    # and with it she sees her own record
    assert [w["id"] for w in rows_of(client_for(user).get("/api/workers/"))] == [world.nologin.pk]
    # a second login would take her account over: refused, and hers is untouched
    again = refused_and_unchanged(lambda: broker.post(f"/api/workers/{world.nologin.pk}/login/",
                                                      {"password": "another-password"}, format="json"), 409)
    assert again.json()["code"] == "login_exists"
    assert User.objects.get(worker=world.nologin).pk == user.pk


# --- broker profile ----------------------------------------------------------------------------

def test_the_owner_edits_the_profile_and_adds_sites_training_and_relocations(api_world, client_for):
    world = api_world
    broker = client_for(world.p.broker)
    patched = broker.patch("/api/broker-profiles/me/", {
        "category": "machinery", "minute_rate": "0.3200", "attendance_bonus": "150.00", "late_days_allowed": 3,
        "organisation": world.p.rival_org.pk}, format="json")
    assert patched.status_code == 200, patched.json()
    assert (patched.json()["organisation"], patched.json()["category"], patched.json()["minute_rate"],
            patched.json()["attendance_bonus"]) == (world.p.broker_org.pk, "machinery", "0.3200", "150.00")
    assert broker.post("/api/broker-profiles/me/sites/", {"kind": "factory", "name": "建明一厂",
                                                          "location": world.p.home["township"].pk},
                       format="json").status_code == 201
    assert broker.post("/api/broker-profiles/me/training/", {"course": "遂昌县来料加工经纪人培训",
                                                             "completed_on": "2026-03-20", "days": "5"},
                       format="json").status_code == 201
    assert broker.post("/api/broker-profiles/me/relocations/", {
        "zone_kind": "township_zone", "zone_name": "妙高工业区", "moved_on": TODAY().isoformat(),
        "evidence": "入园协议"}, format="json").status_code == 201

    # the county's auditor reads what the subsidy engine will use
    profile = client_for(world.p.auditor).get(f"/api/broker-profiles/{world.p.broker_org.pk}/").json()
    assert (profile["category"], profile["county"], profile["township"]) == (
        "machinery", world.p.home["county"].pk, world.p.home["township"].name)
    assert [s["name"] for s in profile["sites"]] == ["建明一厂"]
    assert [(t["course"], t["days"]) for t in profile["training_records"]] == [("遂昌县来料加工经纪人培训", "5.0")]
    assert [r["zone_name"] for r in profile["relocations"]] == ["妙高工业区"]
    assert BrokerProfile.objects.get(organisation=world.p.rival_org).category == "general"


@pytest.mark.parametrize("body, field", [
    ({"minute_rate": "0"}, "minute_rate"),
    ({"minute_rate": "-0.1000"}, "minute_rate"),
    ({"attendance_bonus": "-1.00"}, "attendance_bonus"),
    ({"category": "mining"}, "category"),
])
def test_the_profile_refuses_bad_values(api_world, client_for, body, field):
    world = api_world
    response = refused_and_unchanged(lambda: client_for(world.p.broker).patch("/api/broker-profiles/me/", body,
                                                                              format="json"), 400)
    assert set(response.json()["fields"]) == {field}


def test_a_relocation_is_recorded_once_it_has_happened(api_world, client_for):
    world = api_world
    tomorrow = (TODAY() + dt.timedelta(days=1)).isoformat()
    response = refused_and_unchanged(lambda: client_for(world.p.broker).post("/api/broker-profiles/me/relocations/", {
        "zone_kind": "county_park", "zone_name": "遂昌工业园区", "moved_on": tomorrow, "evidence": "合同"},
        format="json"), 400)
    assert set(response.json()["fields"]) == {"moved_on"}


# --- attendance --------------------------------------------------------------------------------

def mark(client, day, marks):
    return client.post("/api/attendance/", {"date": day.isoformat(), "marks": marks}, format="json")


def test_attendance_in_bulk_names_every_bad_mark_and_writes_nothing(api_world, client_for):
    world = api_world
    p = world.p
    former = extra_worker(p, p.broker, started_on=TODAY() - dt.timedelta(days=30))
    Membership.objects.filter(worker=former).update(ended_on=TODAY() - dt.timedelta(days=1))
    other = extra_worker(p, p.broker)
    marks = [
        {"worker": p.worker_record.pk, "mark": "late"},                          # 0 good
        {"worker": p.other_worker_record.pk, "mark": "on_time"},                 # 1 the rival's worker
        {"worker": world.nologin.pk, "mark": "leave"},                           # 2 a leave without a reason
        {"worker": former.pk, "mark": "on_time"},                                # 3 left yesterday
        {"worker": other.pk, "mark": "on_time", "leave_reason": "sick"},         # 4 a reason without a leave
        {"worker": p.worker_record.pk, "mark": "on_time"},                       # 5 marked twice
        {"worker": 999_999, "mark": "on_time"},                                  # 6 nobody
    ]
    response = refused_and_unchanged(lambda: mark(client_for(p.broker), TODAY(), marks), 400, "invalid_rows")
    assert list(response.json()["fields"]) == [
        "marks.1.worker", "marks.2.leave_reason", "marks.3.worker", "marks.4.leave_reason", "marks.5.worker",
        "marks.6.worker"]


def test_a_leave_with_its_reason_and_marking_again_replaces(api_world, client_for):
    world = api_world
    p = world.p
    yesterday = TODAY() - dt.timedelta(days=1)
    colleague = extra_worker(p, p.broker)
    first = mark(client_for(p.broker), yesterday, [
        {"worker": p.worker_record.pk, "mark": "leave", "leave_reason": "farm_season", "note": "采茶"},
        {"worker": colleague.pk, "mark": "on_time"}])
    assert first.status_code == 201, first.json()
    assert [(r["worker"], r["mark"], r["leave_reason"]) for r in first.json()] == [
        (p.worker_record.pk, "leave", "farm_season"), (colleague.pk, "on_time", "")]

    # the team head corrects the day: she came after all, late
    again = mark(client_for(p.team_head), yesterday, [{"worker": p.worker_record.pk, "mark": "late"}])
    assert again.status_code == 201
    rows = Attendance.objects.filter(worker=p.worker_record, date=yesterday)
    assert [(r.mark, r.leave_reason, r.note, r.recorded_by_id) for r in rows] == [("late", "", "", p.team_head.pk)]
    assert Attendance.objects.filter(date=yesterday).count() == 2

    # she sees her own marks, both days
    mine = rows_of(client_for(p.worker).get("/api/attendance/"))
    assert sorted((r["date"], r["mark"]) for r in mine) == [(yesterday.isoformat(), "late"),
                                                            (TODAY().isoformat(), "on_time")]
    assert [r["worker"] for r in rows_of(client_for(p.broker).get(f"/api/attendance/?date={yesterday}"))] == [
        p.worker_record.pk, colleague.pk]


@pytest.mark.parametrize("reason", ["farm_season", "child_care", "sick"])
def test_each_leave_reason(api_world, client_for, reason):
    world = api_world
    response = mark(client_for(world.p.broker), TODAY(), [{"worker": world.p.worker_record.pk, "mark": "leave",
                                                           "leave_reason": reason}])
    assert response.status_code == 201 and response.json()[0]["leave_reason"] == reason


def test_attendance_is_not_marked_ahead(api_world, client_for):
    world = api_world
    response = refused_and_unchanged(lambda: mark(client_for(world.p.broker), TODAY() + dt.timedelta(days=1),
                                                  [{"worker": world.p.worker_record.pk, "mark": "on_time"}]), 400)
    assert set(response.json()["fields"]) == {"date"}


# --- availability and capacity -----------------------------------------------------------------

def monday_ahead(weeks: int = 6) -> dt.date:
    today = TODAY()
    return today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=weeks)


def test_availability_is_declared_by_the_worker_and_seen_by_her_current_brokers(api_world, client_for):
    world = api_world
    p = world.p
    monday = monday_ahead()
    declared = client_for(p.worker).post("/api/availability/", {
        "start_date": monday.isoformat(), "end_date": (monday + dt.timedelta(days=4)).isoformat(),
        "reason": "farm_season", "note": "采茶", "worker": p.other_worker_record.pk}, format="json")
    assert declared.status_code == 201, declared.json()
    assert declared.json()["worker"] == p.worker_record.pk  # always her own
    backwards = refused_and_unchanged(lambda: client_for(p.worker).post("/api/availability/", {
        "start_date": monday.isoformat(), "end_date": (monday - dt.timedelta(days=1)).isoformat(),
        "reason": "sick"}, format="json"), 400)
    assert set(backwards.json()["fields"]) == {"end_date"}

    seen = rows_of(client_for(p.broker).get("/api/availability/"))
    assert [(r["worker"], r["start_date"]) for r in seen] == [(p.worker_record.pk, TODAY().isoformat()),
                                                               (p.worker_record.pk, monday.isoformat())]
    # a broker she left yesterday no longer sees her plans
    Membership.objects.filter(worker=p.worker_record).update(ended_on=TODAY() - dt.timedelta(days=1))
    assert rows_of(client_for(p.broker).get("/api/availability/")) == []


def test_weekly_capacity(api_world, client_for):
    world = api_world
    p = world.p
    monday = monday_ahead()
    # the broker's members: the worker and 赵小红 throughout; 孙丽 joins on the second Thursday;
    # 周芳 leaves on the first Tuesday
    joiner = extra_worker(p, p.broker, name="孙丽", started_on=monday + dt.timedelta(days=10))
    leaver = extra_worker(p, p.broker, name="周芳")
    Membership.objects.filter(worker=leaver).update(ended_on=monday + dt.timedelta(days=1))
    # a worker of the rival's is not the broker's capacity
    rival_member = WorkerFactory(village=p.home["village"])
    Membership.objects.create(broker=p.rival_org, worker=rival_member, started_on=monday)

    worker = client_for(p.worker)
    # Wednesday to the next Tuesday (Sunday is no working day), then the third Saturday
    for start, end in [(2, 8), (19, 19)]:
        assert worker.post("/api/availability/", {
            "start_date": (monday + dt.timedelta(days=start)).isoformat(),
            "end_date": (monday + dt.timedelta(days=end)).isoformat(), "reason": "farm_season"},
            format="json").status_code == 201
    # 孙丽 (no login) is away on her first day
    Availability.objects.create(worker=joiner, start_date=monday + dt.timedelta(days=10),
                                end_date=monday + dt.timedelta(days=10), reason="child_care")

    start = monday + dt.timedelta(days=3)  # any day of the week: the week starts on its Monday
    response = client_for(p.team_head).get(f"/api/broker-profiles/me/capacity/?weeks=4&start={start}")
    assert response.status_code == 200, response.json()
    assert response.json() == [
        # the worker away Wed-Sat (4 days), 周芳 only Mon-Tue: 6 + 2 + 6 - 4 = 10
        {"week_start": monday.isoformat(), "workers": 3, "worker_days": 10, "unavailable_worker_days": 4},
        # the worker away Mon-Tue (2), 孙丽 Thu-Sat with Thursday away (1): 6 + 6 + 3 - 3 = 12
        {"week_start": (monday + dt.timedelta(weeks=1)).isoformat(), "workers": 3, "worker_days": 12,
         "unavailable_worker_days": 3},
        # the worker away on Saturday
        {"week_start": (monday + dt.timedelta(weeks=2)).isoformat(), "workers": 3, "worker_days": 17,
         "unavailable_worker_days": 1},
        {"week_start": (monday + dt.timedelta(weeks=3)).isoformat(), "workers": 3, "worker_days": 18,
         "unavailable_worker_days": 0},
    ]


@pytest.mark.parametrize("query, weeks", [("weeks=100", 26), ("weeks=0", 1), ("", 4)])
def test_capacity_weeks_are_bounded(api_world, client_for, query, weeks):
    response = client_for(api_world.p.broker).get(f"/api/broker-profiles/me/capacity/?{query}")
    assert response.status_code == 200
    assert len(response.json()) == weeks


@pytest.mark.parametrize("query, field", [("weeks=many", "weeks"), ("start=yesterday", "start")])
def test_capacity_refuses_a_bad_query(api_world, client_for, query, field):
    response = client_for(api_world.p.broker).get(f"/api/broker-profiles/me/capacity/?{query}")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {field}

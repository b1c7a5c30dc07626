"""Every endpoint of backend/brokers/urls.py against every persona: exactly what each may see or
do. A refused write answers in the error shape and leaves every row of the workforce as it was
(tests/brokers/world.py `refused_and_unchanged`).

Who is who (tests/personas.py): the broker and its team head run the workforce of the worker;
the rival broker runs the other worker's; both brokers are in Suichang, so Suichang's auditor
(`auditor`) reads both and Longquan's (`other_auditor`) reads neither — but the other worker
lives in Longquan, so Longquan's auditor sees her worker record."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from brokers.models import (
    Attendance, Availability, BrokerProfile, Bundle, Dispute, Membership, PieceLog, PieceRate, ProcessingSite,
    ProfessionalVillageStatus, Relocation, TrainingRecord, Worker,
)
from brokers.serializers import can_see_national_id

from .api_world import NAMES, api_world, cid, refused_and_unchanged, rows_of  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

FORBIDDEN = 403


def call(client_for, world, name, method, url, data=None):
    client = client_for(world.user(name))
    return getattr(client, method)(url, data, format="json") if data is not None else getattr(client, method)(url)


def expect(table: dict[str, int], name: str) -> int:
    """`table` names who may (and with what status); everyone else is refused with 403."""
    return table.get(name, FORBIDDEN)


# --- workers -----------------------------------------------------------------------------------

WORKER_LIST = {
    "broker": {"王秀英", "赵小红"},
    "team_head": {"王秀英", "赵小红"},
    "rival_broker": {"李桂兰"},
    "worker": {"王秀英"},
    "other_worker": {"李桂兰"},
    "auditor": {"王秀英", "赵小红"},  # living in Suichang
    "other_auditor": {"李桂兰"},  # living in Longquan
    "admin": {"王秀英", "赵小红", "李桂兰"},
}


@pytest.mark.parametrize("name", NAMES)
def test_worker_list(api_world, client_for, name):
    world = api_world
    response = call(client_for, world, name, "get", "/api/workers/")
    if name not in WORKER_LIST:
        assert response.status_code == FORBIDDEN  # firms have no access to the workforce
        return
    assert response.status_code == 200
    rows = rows_of(response)
    assert {row["name"] for row in rows} == WORKER_LIST[name]
    ids = dict(Worker.objects.values_list("pk", "national_id"))
    for row in rows:
        # whoever may see a worker is someone who may see her full ID (herself, her brokers,
        # her county's auditors, admins)
        assert row["national_id"] == ids[row["id"]]
        assert row["national_id_masked"] == ids[row["id"]][:4] + "*" * 10 + ids[row["id"]][-4:]


WORKER_DETAIL = {"broker": 200, "team_head": 200, "worker": 200, "auditor": 200, "admin": 200,
                 "rival_broker": 404, "other_worker": 404, "other_auditor": 404}


@pytest.mark.parametrize("name", NAMES)
def test_worker_detail(api_world, client_for, name):
    world = api_world
    response = call(client_for, world, name, "get", f"/api/workers/{world.p.worker_record.pk}/")
    assert response.status_code == expect(WORKER_DETAIL, name)
    if response.status_code == 200:
        assert response.json()["national_id"] == world.p.worker_record.national_id


@pytest.mark.parametrize("name", NAMES)
def test_national_id_is_full_only_for_her_brokers_auditors_herself_and_admins(api_world, name):
    world = api_world
    user = world.user(name)
    if user is None:
        return
    worker = world.p.worker_record
    allowed = {"broker", "team_head", "worker", "auditor", "admin"}
    assert can_see_national_id(user, worker) is (name in allowed)


def test_a_second_broker_she_is_enrolled_with_sees_her_full_id(api_world, client_for):
    world = api_world
    # given the rival enrols her too (a worker may work for several brokers)
    p = world.p
    enrolled = client_for(p.rival_broker).post("/api/workers/enrol/", {
        "national_id": p.worker_record.national_id, "name": p.worker_record.name}, format="json")
    assert enrolled.status_code == 201, enrolled.json()
    assert enrolled.json()["national_id"] == p.worker_record.national_id
    # then the rival now sees her, with the full ID, and the broker still does
    for user in (p.rival_broker, p.broker):
        body = client_for(user).get(f"/api/workers/{p.worker_record.pk}/").json()
        assert body["national_id"] == p.worker_record.national_id


NEW_WORKER_ID = "331123199502020021"


@pytest.mark.parametrize("name", NAMES)
def test_worker_register(api_world, client_for, name):
    world = api_world
    data = {"name": "新工人", "phone": "13911112222", "national_id": NEW_WORKER_ID,
            "village": world.p.home["village"].pk, "work_mode": "home"}
    allowed = {"broker": 201, "team_head": 201, "rival_broker": 201}  # each into its own workforce
    if name not in allowed:
        refused_and_unchanged(lambda: call(client_for, world, name, "post", "/api/workers/", data), FORBIDDEN)
        return
    response = call(client_for, world, name, "post", "/api/workers/", data)
    assert response.status_code == 201, response.json()
    worker = Worker.objects.get(national_id=NEW_WORKER_ID)
    assert list(worker.memberships.values_list("broker_id", "ended_on")) == [
        (world.user(name).organisation_id, None)]


@pytest.mark.parametrize("name", NAMES)
def test_worker_patch(api_world, client_for, name):
    world = api_world
    url = f"/api/workers/{world.p.worker_record.pk}/"
    data = {"bank_account": "6222 0000 1111"}
    table = {"broker": 200, "team_head": 200, "rival_broker": 404, "other_worker": 404, "other_auditor": 404}
    if table.get(name) != 200:
        refused_and_unchanged(lambda: call(client_for, world, name, "patch", url, data), expect(table, name))
        return
    response = call(client_for, world, name, "patch", url, data)
    assert response.status_code == 200, response.json()
    assert Worker.objects.get(pk=world.p.worker_record.pk).bank_account == "6222 0000 1111"


@pytest.mark.parametrize("name", NAMES)
def test_worker_enrol(api_world, client_for, name):
    world = api_world
    # the other worker (the rival's) enrolled by ID and name
    other = world.p.other_worker_record
    data = {"national_id": other.national_id, "name": other.name}
    table = {"broker": 201, "team_head": 201, "rival_broker": 409}
    if table.get(name) != 201:
        code = "already_member" if name == "rival_broker" else None
        refused_and_unchanged(lambda: call(client_for, world, name, "post", "/api/workers/enrol/", data),
                              expect(table, name), code)
        return
    response = call(client_for, world, name, "post", "/api/workers/enrol/", data)
    assert response.status_code == 201, response.json()
    assert response.json()["id"] == other.pk
    assert set(other.memberships.filter(ended_on__isnull=True).values_list("broker_id", flat=True)) == {
        world.p.rival_org.pk, world.p.broker_org.pk}


@pytest.mark.parametrize("name", NAMES)
def test_worker_end_membership(api_world, client_for, name):
    world = api_world
    url = f"/api/workers/{world.p.worker_record.pk}/end-membership/"
    table = {"broker": 204, "team_head": 204, "rival_broker": 404, "other_worker": 404, "other_auditor": 404}
    if table.get(name) != 204:
        refused_and_unchanged(lambda: call(client_for, world, name, "post", url, {}), expect(table, name))
        return
    response = call(client_for, world, name, "post", url, {})
    assert response.status_code == 204
    assert Membership.objects.get(worker=world.p.worker_record).ended_on == timezone.localdate()


@pytest.mark.parametrize("name", NAMES)
def test_worker_login(api_world, client_for, name):
    world = api_world
    url = f"/api/workers/{world.nologin.pk}/login/"
    data = {"password": "a-long-password"}
    # she lives in Suichang: Suichang's auditor sees her (and may not act), Longquan's does not
    table = {"broker": 201, "team_head": 201, "rival_broker": 404, "worker": 404, "other_worker": 404,
             "other_auditor": 404}
    if table.get(name) != 201:
        refused_and_unchanged(lambda: call(client_for, world, name, "post", url, data), expect(table, name))
        return
    response = call(client_for, world, name, "post", url, data)
    assert response.status_code == 201, response.json()
    assert response.json()["has_login"] is True
    assert Worker.objects.get(pk=world.nologin.pk).user.check_password("a-long-password")


# --- broker profiles ---------------------------------------------------------------------------

PROFILE_LIST = {
    "broker": {"建明服装厂"}, "team_head": {"建明服装厂"}, "rival_broker": {"对手加工点"},
    "auditor": {"建明服装厂", "对手加工点"}, "other_auditor": set(), "admin": {"建明服装厂", "对手加工点"},
}


@pytest.mark.parametrize("name", NAMES)
def test_broker_profile_list(api_world, client_for, name):
    world = api_world
    response = call(client_for, world, name, "get", "/api/broker-profiles/")
    assert response.status_code == (200 if name in PROFILE_LIST else FORBIDDEN)
    if response.status_code == 200:
        assert {row["organisation_name"] for row in rows_of(response)} == PROFILE_LIST[name]


@pytest.mark.parametrize("name", NAMES)
def test_broker_profile_detail(api_world, client_for, name):
    world = api_world
    table = {"broker": 200, "team_head": 200, "auditor": 200, "admin": 200, "rival_broker": 404,
             "other_auditor": 404}
    response = call(client_for, world, name, "get", f"/api/broker-profiles/{world.p.broker_org.pk}/")
    assert response.status_code == expect(table, name)
    if response.status_code == 200:
        assert response.json()["organisation_name"] == "建明服装厂"


# A broker's own profile: its team reads it; an auditor or an admin has no profile of their own.
ME = {"broker": "建明服装厂", "team_head": "建明服装厂", "rival_broker": "对手加工点"}
ME_NONE = {"auditor": 404, "other_auditor": 404, "admin": 404}


@pytest.mark.parametrize("name", NAMES)
def test_my_profile_get(api_world, client_for, name):
    world = api_world
    response = call(client_for, world, name, "get", "/api/broker-profiles/me/")
    if name in ME:
        assert response.status_code == 200
        assert response.json()["organisation_name"] == ME[name]
    else:
        assert response.status_code == expect(ME_NONE, name)


@pytest.mark.parametrize("name", NAMES)
def test_my_profile_patch(api_world, client_for, name):
    world = api_world
    data = {"minute_rate": "0.3000", "bank_account": "6217 0000"}
    if name not in ("broker", "rival_broker"):  # the owner only: not the team head
        refused_and_unchanged(lambda: call(client_for, world, name, "patch", "/api/broker-profiles/me/", data),
                              expect(ME_NONE, name))
        return
    before = {p.organisation_id: p.minute_rate for p in BrokerProfile.objects.all()}
    response = call(client_for, world, name, "patch", "/api/broker-profiles/me/", data)
    assert response.status_code == 200, response.json()
    assert response.json()["minute_rate"] == "0.3000"
    after = {p.organisation_id: str(p.minute_rate) for p in BrokerProfile.objects.all()}
    mine = world.user(name).organisation_id
    assert after[mine] == "0.3000"
    # nobody else's profile moved
    assert {k: v for k, v in after.items() if k != mine} == {k: str(v) for k, v in before.items() if k != mine}


OWNER_ADDS = [
    ("sites", ProcessingSite, lambda w: {"kind": "centre", "name": "村加工点", "location": w.p.home["village"].pk}),
    ("training", TrainingRecord, lambda w: {"course": "遂昌县经纪人培训班", "completed_on": "2026-05-01", "days": "5.0"}),
    ("relocations", Relocation, lambda w: {"zone_kind": "county_park", "zone_name": "遂昌工业园区",
                                           "moved_on": "2026-06-01", "evidence": "租赁合同"}),
]


@pytest.mark.parametrize("path, model, body", OWNER_ADDS, ids=[a[0] for a in OWNER_ADDS])
@pytest.mark.parametrize("name", NAMES)
def test_my_profile_additions_owner_only(api_world, client_for, name, path, model, body):
    world = api_world
    url = f"/api/broker-profiles/me/{path}/"
    if name not in ("broker", "rival_broker"):
        refused_and_unchanged(lambda: call(client_for, world, name, "post", url, body(world)), FORBIDDEN)
        return
    response = call(client_for, world, name, "post", url, body(world))
    assert response.status_code == 201, response.json()
    assert list(model.objects.values_list("broker_id", flat=True)) == [world.user(name).organisation_id]


@pytest.mark.parametrize("name", NAMES)
def test_my_capacity(api_world, client_for, name):
    world = api_world
    # next week: 赵小红 joined today, which on a Sunday is after this week's six working days
    next_week = timezone.localdate() + timedelta(days=7)
    response = call(client_for, world, name, "get", f"/api/broker-profiles/me/capacity/?weeks=1&start={next_week}")
    if name in ME:
        assert response.status_code == 200
        members = {"broker": 2, "team_head": 2, "rival_broker": 1}[name]  # the worker and 赵小红 / 李桂兰
        assert response.json()[0]["workers"] == members
    else:
        assert response.status_code == expect(ME_NONE, name)


# --- villages ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_village_list_is_reference_data(api_world, client_for, name):
    world = api_world
    response = call(client_for, world, name, "get", "/api/villages/")
    if name == "anonymous":
        assert response.status_code == FORBIDDEN
        return
    assert response.status_code == 200
    status = {row["id"]: row["is_professional"] for row in rows_of(response)}
    # the three counties' villages; only the home one was made professional
    assert world.p.home["village"].pk in status and world.p.away["village"].pk in status and len(status) == 3
    assert {pk for pk, professional in status.items() if professional} == {world.p.home["village"].pk}


@pytest.mark.parametrize("name", NAMES)
def test_village_detail_is_reference_data(api_world, client_for, name):
    world = api_world
    response = call(client_for, world, name, "get", f"/api/villages/{world.p.home['village'].pk}/")
    assert response.status_code == (FORBIDDEN if name == "anonymous" else 200)
    if response.status_code == 200:
        assert response.json()["is_professional"] is True


@pytest.mark.parametrize("name", NAMES)
def test_village_status_history_is_readable_by_every_login(api_world, client_for, name):
    world = api_world
    response = call(client_for, world, name, "get", f"/api/villages/{world.p.home['village'].pk}/status/")
    if name == "anonymous":
        assert response.status_code == FORBIDDEN
        return
    assert response.status_code == 200
    assert [(row["is_professional"], row["basis"]) for row in response.json()] == [(True, "designation")]


@pytest.mark.parametrize("name", NAMES)
def test_village_status_set_by_the_county_staff_only(api_world, client_for, name):
    world = api_world
    village = world.p.home["village"]  # in Suichang
    data = {"is_professional": False, "basis": "revoked", "evidence": "不再符合条件",
            "effective_from": timezone.localdate().isoformat()}
    url = f"/api/villages/{village.pk}/status/"
    # Longquan's auditor may not decide for a Suichang village; the roles that never decide
    # a village's status are refused outright
    table = {"auditor": 201, "admin": 201, "other_auditor": 403}
    if table.get(name) != 201:
        refused_and_unchanged(lambda: call(client_for, world, name, "post", url, data), expect(table, name))
        return
    response = call(client_for, world, name, "post", url, data)
    assert response.status_code == 201, response.json()
    assert ProfessionalVillageStatus.objects.filter(village=village).count() == 2


# --- bundles -----------------------------------------------------------------------------------

BUNDLE_LIST = {"broker": "award", "team_head": "award", "rival_broker": "rival_award", "admin": None}


@pytest.mark.parametrize("name", NAMES)
def test_bundle_list(api_world, client_for, name):
    world = api_world
    response = call(client_for, world, name, "get", "/api/bundles/")
    if name not in BUNDLE_LIST:
        assert response.status_code == FORBIDDEN
        return
    assert response.status_code == 200
    ids = {row["id"] for row in rows_of(response)}
    expected = {"award": world.bundles, "rival_award": world.rival_bundles,
                None: world.bundles + world.rival_bundles}[BUNDLE_LIST[name]]
    assert ids == {b.pk for b in expected}


@pytest.mark.parametrize("name", NAMES)
def test_bundle_detail(api_world, client_for, name):
    world = api_world
    table = {"broker": 200, "team_head": 200, "admin": 200, "rival_broker": 404}
    response = call(client_for, world, name, "get", f"/api/bundles/{world.bundles[0].pk}/")
    assert response.status_code == expect(table, name)
    if response.status_code == 200:
        assert response.json()["progress"] == {str(world.threading.pk): 10, str(world.knotting.pk): 10}


@pytest.mark.parametrize("name", NAMES)
def test_bundle_cut(api_world, client_for, name):
    world = api_world
    data = {"award": world.uncut.pk, "size": 25}
    table = {"broker": 201, "team_head": 201, "rival_broker": 404}
    if table.get(name) != 201:
        refused_and_unchanged(lambda: call(client_for, world, name, "post", "/api/bundles/cut/", data),
                              expect(table, name))
        return
    response = call(client_for, world, name, "post", "/api/bundles/cut/", data)
    assert response.status_code == 201, response.json()
    assert [b["size"] for b in response.json()] == [25, 25, 25, 25]
    assert Bundle.objects.filter(award=world.uncut, broker=world.p.broker_org).count() == 4


@pytest.mark.parametrize("name", NAMES)
def test_bundle_tickets(api_world, client_for, name):
    world = api_world
    table = {"broker": 200, "team_head": 200, "admin": 200, "rival_broker": 404}
    response = call(client_for, world, name, "get", f"/api/bundles/tickets/?award={world.award.pk}")
    assert response.status_code == expect(table, name)
    if response.status_code == 200:
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")


# --- piece rates -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_piece_rate_table(api_world, client_for, name):
    world = api_world
    table = {"broker": 200, "team_head": 200, "admin": 200, "rival_broker": 404}
    response = call(client_for, world, name, "get", f"/api/piece-rates/?award={world.award.pk}")
    assert response.status_code == expect(table, name)
    if response.status_code == 200:
        assert [row["rate"] for row in response.json()["rows"]] == ["0.9000", "0.3000"]


@pytest.mark.parametrize("name", NAMES)
def test_piece_rate_set_owner_only(api_world, client_for, name):
    world = api_world
    data = {"award": world.award.pk, "procedure": world.threading.pk, "rate": "1.0000"}
    table = {"broker": 201, "rival_broker": 404}  # not the team head, not an admin
    if table.get(name) != 201:
        refused_and_unchanged(lambda: call(client_for, world, name, "post", "/api/piece-rates/", data),
                              expect(table, name))
        return
    response = call(client_for, world, name, "post", "/api/piece-rates/", data)
    assert response.status_code == 201, response.json()
    assert PieceRate.objects.filter(award=world.award, procedure=world.threading).count() == 2


# --- piece logs --------------------------------------------------------------------------------

LOG_LIST = {
    "broker": {"disputed", "plain"}, "team_head": {"disputed", "plain"}, "rival_broker": {"rival_log"},
    "worker": {"disputed", "plain"}, "other_worker": {"rival_log"},
    "auditor": {"disputed", "plain", "rival_log"},  # both brokers are in Suichang
    "other_auditor": set(), "admin": {"disputed", "plain", "rival_log"},
}


@pytest.mark.parametrize("name", NAMES)
def test_piece_log_list(api_world, client_for, name):
    world = api_world
    response = call(client_for, world, name, "get", "/api/piece-logs/")
    if name not in LOG_LIST:
        assert response.status_code == FORBIDDEN
        return
    assert response.status_code == 200
    assert {row["id"] for row in rows_of(response)} == {getattr(world, key).pk for key in LOG_LIST[name]}


@pytest.mark.parametrize("name", NAMES)
def test_piece_log_list_filter_cannot_widen_the_scope(api_world, client_for, name):
    world = api_world
    if name not in LOG_LIST:
        return
    response = call(client_for, world, name, "get", f"/api/piece-logs/?worker={world.p.other_worker_record.pk}")
    assert response.status_code == 200
    assert {row["id"] for row in rows_of(response)} == {getattr(world, key).pk for key in LOG_LIST[name]} & {
        world.rival_log.pk}


@pytest.mark.parametrize("name", NAMES)
def test_piece_log_detail(api_world, client_for, name):
    world = api_world
    table = {"broker": 200, "team_head": 200, "worker": 200, "auditor": 200, "admin": 200,
             "rival_broker": 404, "other_worker": 404, "other_auditor": 404}
    response = call(client_for, world, name, "get", f"/api/piece-logs/{world.plain.pk}/")
    assert response.status_code == expect(table, name)
    if response.status_code == 200:
        assert response.json()["quantity"] == 10


LOG_WRITE = {"broker": 201, "team_head": 201, "worker": 201, "rival_broker": 404}
SOURCE = {"broker": "broker", "team_head": "team_head", "worker": "scan"}


def _row(world, name) -> dict:
    """Broker staff name the bundle by id; a worker by the code of the ticket she scanned."""
    bundle = {"bundle_code": world.bundles[1].code} if name in ("worker", "other_worker") else {
        "bundle": world.bundles[1].pk}
    return {"worker": world.p.worker_record.pk, **bundle, "procedure": world.threading.pk,
            "quantity": 5, "work_date": timezone.localdate().isoformat(), "client_id": cid()}


@pytest.mark.parametrize("name", NAMES)
def test_piece_log_create(api_world, client_for, name):
    world = api_world
    row = _row(world, name)
    if name not in SOURCE:
        # the other worker may record only her own pieces
        refused_and_unchanged(lambda: call(client_for, world, name, "post", "/api/piece-logs/", row),
                              expect(LOG_WRITE, name))
        return
    response = call(client_for, world, name, "post", "/api/piece-logs/", row)
    assert response.status_code == 201, response.json()
    created = PieceLog.objects.get(client_id=row["client_id"])
    assert (created.worker_id, created.source, created.recorded_by_id, created.rate) == (
        world.p.worker_record.pk, SOURCE[name], world.user(name).pk, world.disputed.rate)


@pytest.mark.parametrize("name", NAMES)
def test_piece_log_bulk(api_world, client_for, name):
    world = api_world
    rows = [_row(world, name), {**_row(world, name), "procedure": world.knotting.pk}]
    if name not in SOURCE:
        # the rival: the broker's bundle is not in its work; the other worker: the rows are for
        # someone else — every row is named, nothing is written
        by_row = {"rival_broker": "bundle", "other_worker": "worker"}
        response = refused_and_unchanged(
            lambda: call(client_for, world, name, "post", "/api/piece-logs/bulk/", {"rows": rows}),
            400 if name in by_row else FORBIDDEN, "invalid_rows" if name in by_row else None)
        if name in by_row:
            assert set(response.json()["fields"]) == {f"rows.0.{by_row[name]}", f"rows.1.{by_row[name]}"}
        return
    response = call(client_for, world, name, "post", "/api/piece-logs/bulk/", {"rows": rows})
    assert response.status_code == 201, response.json()
    assert response.json()["created"] == 2
    assert set(PieceLog.objects.filter(client_id__in=[r["client_id"] for r in rows])
               .values_list("source", flat=True)) == {SOURCE[name]}


@pytest.mark.parametrize("name", NAMES)
def test_piece_log_reverse(api_world, client_for, name):
    world = api_world
    url = f"/api/piece-logs/{world.plain.pk}/reverse/"
    table = {"broker": 201, "team_head": 201, "rival_broker": 404, "other_worker": 404, "other_auditor": 404}
    if table.get(name) != 201:
        refused_and_unchanged(lambda: call(client_for, world, name, "post", url, {"reason": "点错了"}),
                              expect(table, name))
        return
    response = call(client_for, world, name, "post", url, {"reason": "点错了"})
    assert response.status_code == 201, response.json()
    assert response.json()["quantity"] == -10 and response.json()["reverses"] == world.plain.pk


@pytest.mark.parametrize("name", NAMES)
def test_my_earnings(api_world, client_for, name):
    world = api_world
    response = call(client_for, world, name, "get", "/api/me/earnings/")
    # her own logs: 10 threading at 0.90 and 10 knotting at 0.30; the other worker's: 10 at 0.90
    mine = {"worker": "12.00", "other_worker": "9.00"}
    if name in mine:
        assert response.status_code == 200
        assert response.json()["today"] == mine[name]
    else:
        assert response.status_code == {"admin": 404}.get(name, FORBIDDEN)


# --- disputes ----------------------------------------------------------------------------------

DISPUTE_LIST = {
    "broker": {"dispute"}, "team_head": {"dispute"}, "rival_broker": {"rival_dispute"}, "worker": {"dispute"},
    "other_worker": {"rival_dispute"}, "auditor": {"dispute", "rival_dispute"}, "other_auditor": set(),
    "admin": {"dispute", "rival_dispute"},
}


@pytest.mark.parametrize("name", NAMES)
def test_dispute_list(api_world, client_for, name):
    world = api_world
    response = call(client_for, world, name, "get", "/api/disputes/")
    if name not in DISPUTE_LIST:
        assert response.status_code == FORBIDDEN
        return
    assert response.status_code == 200
    assert {row["id"] for row in rows_of(response)} == {getattr(world, key).pk for key in DISPUTE_LIST[name]}


@pytest.mark.parametrize("name", NAMES)
def test_dispute_detail(api_world, client_for, name):
    world = api_world
    table = {"broker": 200, "team_head": 200, "worker": 200, "auditor": 200, "admin": 200,
             "rival_broker": 404, "other_worker": 404, "other_auditor": 404}
    response = call(client_for, world, name, "get", f"/api/disputes/{world.dispute.pk}/")
    assert response.status_code == expect(table, name)


@pytest.mark.parametrize("name", NAMES)
def test_dispute_open_by_the_worker_only(api_world, client_for, name):
    world = api_world
    data = {"log": world.plain.pk, "kind": "not_mine", "note": "不是我做的"}
    table = {"worker": 201, "other_worker": 404}
    if table.get(name) != 201:
        refused_and_unchanged(lambda: call(client_for, world, name, "post", "/api/disputes/", data),
                              expect(table, name))
        return
    response = call(client_for, world, name, "post", "/api/disputes/", data)
    assert response.status_code == 201, response.json()
    assert Dispute.objects.get(pk=response.json()["id"]).worker_id == world.p.worker_record.pk


@pytest.mark.parametrize("name", NAMES)
def test_dispute_resolve(api_world, client_for, name):
    world = api_world
    url = f"/api/disputes/{world.dispute.pk}/resolve/"
    data = {"accept": False, "resolution": "核对无误"}
    table = {"broker": 200, "team_head": 200, "rival_broker": 404, "other_worker": 404, "other_auditor": 404}
    if table.get(name) != 200:
        refused_and_unchanged(lambda: call(client_for, world, name, "post", url, data), expect(table, name))
        return
    response = call(client_for, world, name, "post", url, data)
    assert response.status_code == 200, response.json()
    assert Dispute.objects.get(pk=world.dispute.pk).status == "rejected"


# --- attendance and availability ---------------------------------------------------------------

OWN_ROWS = {
    "broker": {"worker_record"}, "team_head": {"worker_record"}, "rival_broker": {"other_worker_record"},
    "worker": {"worker_record"}, "other_worker": {"other_worker_record"},
    "admin": {"worker_record", "other_worker_record"},
}


@pytest.mark.parametrize("path", ["attendance", "availability"])
@pytest.mark.parametrize("name", NAMES)
def test_attendance_and_availability_lists(api_world, client_for, name, path):
    world = api_world
    response = call(client_for, world, name, "get", f"/api/{path}/")
    if name not in OWN_ROWS:
        assert response.status_code == FORBIDDEN
        return
    assert response.status_code == 200
    assert {row["worker"] for row in rows_of(response)} == {getattr(world.p, key).pk for key in OWN_ROWS[name]}


@pytest.mark.parametrize("name", NAMES)
def test_attendance_mark(api_world, client_for, name):
    world = api_world
    data = {"date": timezone.localdate().isoformat(), "marks": [{"worker": world.p.worker_record.pk, "mark": "late"}]}
    table = {"broker": 201, "team_head": 201, "rival_broker": 400}  # she is not the rival's
    if table.get(name) != 201:
        code = "invalid_rows" if name == "rival_broker" else None
        refused_and_unchanged(lambda: call(client_for, world, name, "post", "/api/attendance/", data),
                              expect(table, name), code)
        return
    response = call(client_for, world, name, "post", "/api/attendance/", data)
    assert response.status_code == 201, response.json()
    assert Attendance.objects.get(worker=world.p.worker_record).mark == "late"


@pytest.mark.parametrize("name", NAMES)
def test_availability_declared_by_workers_only(api_world, client_for, name):
    world = api_world
    start = timezone.localdate() + timedelta(days=7)  # a declared absence lies ahead (docs/api.md, Limits)
    data = {"start_date": f"{start}", "end_date": f"{start + timedelta(days=6)}", "reason": "farm_season"}
    if name not in ("worker", "other_worker"):
        refused_and_unchanged(lambda: call(client_for, world, name, "post", "/api/availability/", data), FORBIDDEN)
        return
    response = call(client_for, world, name, "post", "/api/availability/", data)
    assert response.status_code == 201, response.json()
    mine = getattr(world.p, "worker_record" if name == "worker" else "other_worker_record")
    assert Availability.objects.filter(worker=mine).count() == 2

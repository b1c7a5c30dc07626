"""List endpoints of the workforce answer in a fixed number of queries, whoever asks and however
many rows there are: the same bound holds for 3 rows and for 15, so an N+1 cannot creep in. The
bulk endpoint records 500 rows in a bounded number of queries (no query per row).

Each request is made with a freshly loaded user, so it pays for its own lookups (organisation,
county, worker record) instead of riding on what an earlier request cached."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import User
from brokers import services

from ..orders import builders
from .api_world import api_world, cid, extra_worker, log, procedures, set_rates  # noqa: F401

pytestmark = pytest.mark.django_db

SIZES = [3, 15]


def fresh(user):
    return None if user is None else User.objects.get(pk=user.pk)


def get_list(client_for, user, url, django_assert_max_num_queries, bound: int, rows: int) -> list[dict]:
    client = client_for(fresh(user))
    with django_assert_max_num_queries(bound):
        response = client.get(url)
    assert response.status_code == 200, response.json()
    results = response.json()["results"]
    assert len(results) == rows  # the bound was met with every row on the page
    return results


def more_logs(world, n: int) -> None:
    """n more logs of the worker (on the broker's second bundle) and of a new worker each."""
    p = world.p
    for _ in range(n):
        log(p.broker, extra_worker(p, p.broker), world.bundles[1], world.threading, 1)


# Bounds measured with 3 rows; the test proves they do not grow with 15. An auditor pays two more
# lookups for the county (organisation, jurisdiction).
LOG_LIST = {"broker": (1, lambda n: 2 + n), "team_head": (1, lambda n: 2 + n), "worker": (1, lambda n: 2),
            "auditor": (3, lambda n: 3 + n), "admin": (1, lambda n: 3 + n)}


@pytest.mark.parametrize("name", sorted(LOG_LIST))
@pytest.mark.parametrize("n", SIZES)
def test_piece_log_list(api_world, client_for, django_assert_max_num_queries, name, n):
    more_logs(api_world, n)
    bound, rows = LOG_LIST[name]
    get_list(client_for, api_world.user(name), "/api/piece-logs/?page_size=100", django_assert_max_num_queries,
             bound, rows(n))


# The world's workers: the broker's two (the worker and 赵小红), the rival's one; each extra one is
# the broker's and lives in Suichang.
WORKER_LIST = {"broker": (1, lambda n: 2 + n), "team_head": (1, lambda n: 2 + n), "worker": (1, lambda n: 1),
               "auditor": (3, lambda n: 2 + n), "admin": (1, lambda n: 3 + n)}


@pytest.mark.parametrize("name", sorted(WORKER_LIST))
@pytest.mark.parametrize("n", SIZES)
def test_worker_list(api_world, client_for, django_assert_max_num_queries, name, n):
    for _ in range(n):
        extra_worker(api_world.p, api_world.p.broker)
    bound, rows = WORKER_LIST[name]
    get_list(client_for, api_world.user(name), "/api/workers/?page_size=100", django_assert_max_num_queries,
             bound, rows(n))


# the page, then every bundle's progress in one grouped query
BUNDLE_LIST = {"broker": (2, lambda n: 3 + n), "team_head": (2, lambda n: 3 + n), "admin": (2, lambda n: 5 + n)}


@pytest.mark.parametrize("name", sorted(BUNDLE_LIST))
@pytest.mark.parametrize("n", SIZES)
def test_bundle_list(api_world, client_for, django_assert_max_num_queries, name, n):
    p = api_world.p
    award = builders.awarded(p.firm, p.broker, quantity=n * 10, product="计数")
    services.bundles_cut(actor=p.broker, award_id=award.pk, size=10)
    bound, rows = BUNDLE_LIST[name]
    get_list(client_for, api_world.user(name), "/api/bundles/?page_size=100", django_assert_max_num_queries,
             bound, rows(n))


DISPUTE_LIST = {"broker": (1, lambda n: 1 + n), "team_head": (1, lambda n: 1 + n), "worker": (1, lambda n: 1 + n),
                "auditor": (3, lambda n: 2 + n), "admin": (1, lambda n: 2 + n)}


@pytest.mark.parametrize("name", sorted(DISPUTE_LIST))
@pytest.mark.parametrize("n", SIZES)
def test_dispute_list(api_world, client_for, django_assert_max_num_queries, name, n):
    world = api_world
    for _ in range(n):
        disputed = log(world.p.broker, world.p.worker_record, world.bundles[1], world.threading, 1)
        services.dispute_open(actor=world.p.worker, log_id=disputed.pk, kind="not_mine")
    bound, rows = DISPUTE_LIST[name]
    get_list(client_for, world.user(name), "/api/disputes/?page_size=100", django_assert_max_num_queries,
             bound, rows(n))


@pytest.mark.parametrize("name", ["broker", "worker"])
def test_earnings_and_attendance_do_not_grow_with_rows(api_world, client_for, django_assert_max_num_queries, name):
    world = api_world
    for _ in range(15):
        log(world.p.broker, world.p.worker_record, world.bundles[1], world.threading, 1)
    # the user, her record, one grouped query each for today, the week and the month's lines, the logs
    url, bound = ("/api/me/earnings/", 6) if name == "worker" else ("/api/attendance/", 2)
    with django_assert_max_num_queries(bound):
        assert client_for(fresh(world.user(name))).get(url).status_code == 200


def test_bulk_of_500_rows_is_a_bounded_number_of_queries(api_world, client_for, django_assert_max_num_queries):
    world = api_world
    p = world.p
    award = builders.awarded(p.firm, p.broker, quantity=1000, product="批量")
    bundles = services.bundles_cut(actor=p.broker, award_id=award.pk, size=100)
    set_rates(p.broker, award)
    threading, knotting = procedures(award)
    workers = [p.worker_record] + [extra_worker(p, p.broker) for _ in range(9)]
    # two days of last month (within every membership, whatever today is)
    last_month = (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    days = [(last_month + dt.timedelta(days=n)).isoformat() for n in (1, 2)]
    rows = [{"worker": workers[i % 10].pk, "bundle": bundles[i % 10].pk,
             "procedure": (threading if i % 2 else knotting).pk, "quantity": 1,
             "work_date": days[0] if i % 3 else days[1], "client_id": cid()} for i in range(500)]
    client = client_for(fresh(p.broker))
    with django_assert_max_num_queries(40):
        response = client.post("/api/piece-logs/bulk/", {"rows": rows}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["created"] == 500
    # the resend: all duplicates, bounded too
    with django_assert_max_num_queries(40):
        again = client.post("/api/piece-logs/bulk/", {"rows": rows}, format="json")
    assert (again.json()["created"], again.json()["duplicates"]) == (0, 500)

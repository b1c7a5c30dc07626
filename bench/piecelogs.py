"""Benchmark: piece logs at county scale on PostgreSQL.

DESIGN.md asks for a county-wide month of 100,000 workers and 5,000,000 piece-log rows. This
script builds that month in a scratch database (fast, with INSERT ... SELECT generate_series),
then times the reads that run on it — a worker's month on her phone, a broker's month as payroll
aggregates it, the county's month — and a 1,000-row bulk record through the real service, and
prints the query plans, so the index layout in docs/piecework.md is a measured claim.

    .venv/bin/python bench/piecelogs.py                       # the full month (5M rows)
    .venv/bin/python bench/piecelogs.py --logs 500000 --workers 10000 --brokers 100   # quick

It drops and recreates the database named by --db (default lailiao_bench) on the local
PostgreSQL. It never touches any other database.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "backend"))


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--server", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server URL")
    p.add_argument("--db", default="lailiao_bench", help="scratch database (dropped and recreated)")
    p.add_argument("--workers", type=int, default=100_000)
    p.add_argument("--brokers", type=int, default=1_000)
    p.add_argument("--logs", type=int, default=5_000_000)
    p.add_argument("--month", default="2026-10-01", help="first day of the month the logs fall in")
    p.add_argument("--samples", type=int, default=200, help="workers / brokers sampled per read")
    return p.parse_args()


def recreate_database(server: str, name: str) -> None:
    import psycopg

    if not name.startswith("lailiao_bench"):
        raise SystemExit("refusing to drop a database whose name does not start with lailiao_bench")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def scratch_database(args):
    """Recreate the scratch database, point Django at it, migrate; returns the connection."""
    recreate_database(args.server, args.db)
    os.environ.update(DATABASE_URL=f"{args.server}/{args.db}", DJANGO_SETTINGS_MODULE="config.settings.base",
                      LAILIAO_VAR_DIR=str(Path("/tmp") / f"{args.db}-var"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    return connection


def timed(fn, repeat: int = 1) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def build(args, cursor, month_start: date) -> None:
    """Reference rows with the ORM's tables, then the month of piece logs in one statement."""
    w, b, n = args.workers, args.brokers, args.logs
    sql = f"""
    INSERT INTO accounts_jurisdiction (code, name, name_en, level, parent_id, county_id)
      VALUES ('B0', '浙江省', '', 'province', NULL, NULL);
    INSERT INTO accounts_jurisdiction (code, name, name_en, level, parent_id, county_id)
      SELECT 'B1', '丽水市', '', 'city', id, NULL FROM accounts_jurisdiction WHERE code = 'B0';
    INSERT INTO accounts_jurisdiction (code, name, name_en, level, parent_id, county_id)
      SELECT 'B2', '遂昌县', '', 'county', id, NULL FROM accounts_jurisdiction WHERE code = 'B1';
    UPDATE accounts_jurisdiction SET county_id = id WHERE code = 'B2';
    INSERT INTO accounts_jurisdiction (code, name, name_en, level, parent_id, county_id)
      SELECT 'B3', '某镇', '', 'township', id, id FROM accounts_jurisdiction WHERE code = 'B2';
    INSERT INTO accounts_jurisdiction (code, name, name_en, level, parent_id, county_id)
      SELECT 'V' || g, '村' || g, '', 'village', t.id, t.county_id
      FROM generate_series(1, 100) g, accounts_jurisdiction t WHERE t.code = 'B3';

    INSERT INTO accounts_organisation (kind, name, jurisdiction_id, contact_phone, created_at)
      SELECT 'firm', '义乌基准公司', id, '', now() FROM accounts_jurisdiction WHERE code = 'B2';
    INSERT INTO accounts_organisation (kind, name, jurisdiction_id, contact_phone, created_at)
      SELECT 'broker', '经纪人' || g, t.id, '', now() FROM generate_series(1, {b}) g, accounts_jurisdiction t
      WHERE t.code = 'B3';
    INSERT INTO brokers_brokerprofile (organisation_id, category, minute_rate, bank_name, bank_account, account_holder,
        attendance_bonus, attendance_bonus_enabled, late_days_allowed, updated_at)
      SELECT id, 'general', 0.25, '', '', '', 200, true, 2, now() FROM accounts_organisation WHERE kind = 'broker';
    INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active,
                               date_joined, display_name, role, language)
      VALUES ('!', false, 'bench', '', '', '', false, true, now(), 'bench', 'admin', 'zh-hans');

    CREATE TEMP TABLE bench_broker AS
      SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM accounts_organisation WHERE kind = 'broker';

    INSERT INTO orders_order (firm_id, created_by_id, product, category, description, quantity, unit, modes,
        ceiling_unit_price_currency, ceiling_unit_price, bid_deadline, due_date, delivery_place, status,
        terms_version, created_at)
      SELECT f.id, u.id, '基准订单' || bb.k, 'bead_work', '', 10000000, '件', '["home"]', 'CNY', 5,
             now() - interval '40 days', now()::date + 30, '义乌', 'in_production', 1, now()
      FROM bench_broker bb, accounts_organisation f, accounts_user u WHERE f.kind = 'firm' AND u.username = 'bench'
      ORDER BY bb.k;
    CREATE TEMP TABLE bench_order AS SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM orders_order;
    INSERT INTO orders_procedure (order_id, sequence, name, standard_minutes)
      SELECT o.id, s, CASE s WHEN 1 THEN '穿珠' ELSE '打结' END, CASE s WHEN 1 THEN 2.5 ELSE 1 END
      FROM bench_order o, generate_series(1, 2) s;
    INSERT INTO orders_bid (order_id, broker_id, placed_by_id, unit_price_currency, unit_price, quantity,
        promised_date, note, status, terms_version, revision, created_at, updated_at)
      SELECT o.id, bb.id, u.id, 'CNY', 2, 10000000, now()::date + 20, '', 'active', 1, 1, now(), now()
      FROM bench_order o JOIN bench_broker bb ON bb.k = o.k, accounts_user u WHERE u.username = 'bench';
    INSERT INTO orders_award (order_id, bid_id, broker_id, quantity, unit_price_currency, unit_price, status,
        awarded_by_id, awarded_at, promised_date)
      SELECT bid.order_id, bid.id, bid.broker_id, 10000000, 'CNY', 2, 'active', bid.placed_by_id, now(),
             now()::date + 20
      FROM orders_bid bid;
    INSERT INTO brokers_bundle (award_id, broker_id, number, size, code, created_by_id, created_at)
      SELECT a.id, a.broker_id, g, 100000, md5(a.id || '-' || g), a.awarded_by_id, now()
      FROM orders_award a, generate_series(1, 20) g;
    INSERT INTO brokers_piecerate (award_id, procedure_id, rate, effective_from, set_by_id, created_at)
      SELECT a.id, p.id, CASE p.sequence WHEN 1 THEN 0.8000 ELSE 0.3500 END, now() - interval '60 days',
             a.awarded_by_id, now()
      FROM orders_award a JOIN orders_procedure p ON p.order_id = a.order_id;

    INSERT INTO brokers_worker (name, phone, national_id, village_id, work_mode, household_tags, bank_name,
        bank_account, full_time_roster, created_at)
      SELECT '工人' || g, '', NULL, v.id, 'home', '[]', '遂昌农商银行', '62309100' || lpad(g::text, 8, '0'), false, now()
      FROM generate_series(1, {w}) g
      JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM accounts_jurisdiction WHERE level = 'village') v
        ON v.k = g % 100;
    CREATE TEMP TABLE bench_worker AS SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM brokers_worker;
    INSERT INTO brokers_membership (broker_id, worker_id, started_on, ended_on)
      SELECT bb.id, bw.id, DATE '2026-01-01', NULL FROM bench_worker bw JOIN bench_broker bb ON bb.k = bw.k % {b};

    CREATE TEMP TABLE bench_bundle AS
      SELECT bu.id, bu.broker_id, a.order_id, row_number() OVER (PARTITION BY bu.broker_id ORDER BY bu.id) - 1 AS k
      FROM brokers_bundle bu JOIN orders_award a ON a.id = bu.award_id;
    CREATE INDEX ON bench_bundle (broker_id, k);
    CREATE TEMP TABLE bench_proc AS
      SELECT id, order_id, sequence FROM orders_procedure;
    CREATE INDEX ON bench_proc (order_id, sequence);
    ANALYZE bench_worker; ANALYZE bench_broker; ANALYZE bench_bundle; ANALYZE bench_proc;
    """
    cursor.execute(sql)
    # The month: each log a random worker, her broker, one of its bundles, one of two procedures.
    cursor.execute(f"""
    INSERT INTO brokers_piecelog (broker_id, worker_id, bundle_id, procedure_id, quantity, work_date, rate, source,
        recorded_by_id, recorded_at, client_id, reverses_id, reason)
    SELECT bb.id, bw.id, bu.id, pr.id, 1 + (g * 7919 % 50), DATE '{month_start}' + (g % 28)::int,
           CASE pr.sequence WHEN 1 THEN 0.8000 ELSE 0.3500 END, 'broker', u.id,
           TIMESTAMP '{month_start}' + (g % 28)::int * interval '1 day', md5(g::text), NULL, ''
    FROM generate_series(1::bigint, {n}) g
    JOIN bench_worker bw ON bw.k = (g * 2654435761) % {w}
    JOIN bench_broker bb ON bb.k = bw.k % {b}
    JOIN bench_bundle bu ON bu.broker_id = bb.id AND bu.k = (g % 20)::int
    JOIN bench_proc pr ON pr.order_id = bu.order_id AND pr.sequence = 1 + g % 2
    CROSS JOIN (SELECT id FROM accounts_user WHERE username = 'bench') u
    """)
    cursor.execute("ANALYZE")


def main() -> None:
    args = parse()
    month_start = date.fromisoformat(args.month)
    month_end = (month_start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    connection = scratch_database(args)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        build(args, cursor, month_start)
        cursor.execute("SELECT count(*), pg_size_pretty(pg_total_relation_size('brokers_piecelog')) "
                       "FROM brokers_piecelog")
        rows, size = cursor.fetchone()
    load_s = time.perf_counter() - started

    from accounts.models import Organisation, Role, User
    from brokers import selectors, services
    from brokers.models import Bundle, Membership, PieceLog, Worker
    from django.db.models import F, Sum

    rng = random.Random(7)
    worker_ids = list(Worker.objects.values_list("pk", flat=True))
    broker_ids = list(Organisation.objects.filter(kind="broker").values_list("pk", flat=True))
    month = {"work_date__gte": month_start, "work_date__lte": month_end}

    def worker_month(worker_id: int) -> None:
        selectors.earning_lines(PieceLog.objects.filter(worker_id=worker_id, **month))

    def broker_month(broker_id: int) -> None:
        # the payroll's shape: one grouped query for the whole broker-month
        list(PieceLog.objects.filter(broker_id=broker_id, **month).values("worker_id", "procedure_id", "rate")
             .annotate(q=Sum("quantity")))

    def county_month() -> None:
        list(PieceLog.objects.filter(**month).values("broker_id").annotate(q=Sum("quantity"),
                                                                           pay=Sum(F("quantity") * F("rate"))))

    worker_ms = [timed(lambda w=w: worker_month(w))[0] for w in rng.sample(worker_ids, args.samples)]
    broker_ms = [timed(lambda b=b: broker_month(b))[0] for b in rng.sample(broker_ids, min(args.samples, len(broker_ids)))]
    county_ms = timed(county_month, repeat=3)

    # A 1,000-row bulk record through the real service, as a broker's tablet sends it.
    broker = Organisation.objects.get(pk=broker_ids[0])
    actor = User.objects.create(username="bench-broker", role=Role.BROKER_OWNER, organisation=broker)
    members = list(Membership.objects.filter(broker=broker).values_list("worker_id", flat=True)[:100])
    bundles = list(Bundle.objects.filter(broker=broker).select_related("award"))
    procedures = list(bundles[0].award.order.procedures.values_list("pk", flat=True))
    today = date.today()

    def bulk() -> None:
        rows = [{"worker": rng.choice(members), "bundle": rng.choice(bundles).pk, "procedure": rng.choice(procedures),
                 "quantity": 1 + rng.randrange(20), "work_date": today, "client_id": uuid.uuid4().hex}
                for _ in range(1000)]
        services.piece_logs_record(actor=actor, rows=rows)

    bulk_ms = timed(bulk, repeat=5)

    with connection.cursor() as cursor:
        plans = {}
        for label, sql, params in [
            ("worker month", 'EXPLAIN SELECT procedure_id, rate, sum(quantity) FROM brokers_piecelog '
             'WHERE worker_id = %s AND work_date BETWEEN %s AND %s GROUP BY 1, 2', [worker_ids[5], month_start, month_end]),
            ("broker month", 'EXPLAIN SELECT worker_id, procedure_id, rate, sum(quantity) FROM brokers_piecelog '
             'WHERE broker_id = %s AND work_date BETWEEN %s AND %s GROUP BY 1, 2, 3', [broker_ids[5], month_start, month_end]),
        ]:
            cursor.execute(sql, params)
            plans[label] = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]

    mem = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout.splitlines()[1].split()[1]
    print(f"# piece logs at county scale ({date.today()})")
    print(f"machine: {os.cpu_count()} cores, {mem} GiB, {platform.platform()}, PostgreSQL {pg_version}")
    print(f"command: {' '.join(sys.argv)}")
    print(f"rows: {rows:,} piece logs ({size} with indexes), {len(worker_ids):,} workers, {len(broker_ids):,} brokers;"
          f" built in {load_s:.0f} s")
    print()
    print("| read or write | samples | p50 ms | p95 ms | max ms |")
    print("|---|---|---|---|---|")
    for label, values in [("worker's month (phone view)", worker_ms), ("broker's month (payroll aggregate)", broker_ms),
                          ("county's month by broker", county_ms), ("bulk record, 1,000 rows", bulk_ms)]:
        print(f"| {label} | {len(values)} | {statistics.median(values):.1f} | {pct(values, 0.95):.1f} | "
              f"{max(values):.1f} |")
    print()
    for label, plan in plans.items():
        print(f"plan, {label}:\n{plan}\n")



if __name__ == "__main__":
    main()

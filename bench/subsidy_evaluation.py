"""Benchmark: a county year of the subsidy evaluation on PostgreSQL.

Issue 11 § 3 asks for a year of one county (1,000 brokers, 950 villages, 100,000 workers,
1.2 million payslips) evaluated in under 10 seconds. This script builds that year in a scratch
database, then times `subsidies.services.evaluation.compute` (the grouped reads, no writes) and
`run_evaluation` (the claims, their evidence and risk flags written) for Suichang's 2009 policy,
which the data migration installs for 遂昌县 (331123): the generated county is that county.

The year, for --year Y (default 2025):
- 950 villages in 19 townships; 1,000 brokers registered in villages, every tenth of them a
  machinery broker; a broker's workforce drawn from a skewed distribution (about 10 to 500
  workers, 100 on average) so every tier, the case line and workers just over the threshold occur;
- 100,000 workers, each in a village; 1% change broker in the middle of the year (counted by
  two brokers); 12 monthly payroll runs a broker (December Y-1 to November Y), each paid out the
  10th of the next month, so 12 payouts a worker fall in Y: 1.2 million payslips, each with one
  piece-pay line and one paid payout item, with some year-end spikes;
- processing-fee invoice lines for Y-1 and Y (one order, bid, award and invoice a broker and
  year, 24 deliveries and inspections each), each line with its balanced ledger posting;
- loans (some above 100,000, some registered after their start), relocations in Y, and
  professional-village status records (most villages long professional, some new in Y).

The bulk load is set-based SQL (INSERT ... SELECT over generate_series) in one session with
`SET session_replication_role = replica`: that skips the project's integrity triggers (a run
must be inserted as a preview and closed later, a payslip may only join a preview run, ledger
entries are checked one transaction at a time) and the foreign-key triggers, which would turn a
set-based load into row-by-row work; the rows written are consistent by construction (a paid
run's payslips, items and batches agree, every ledger posting balances). The role is reset
before anything is timed, so the evaluation runs under every trigger. The payroll runs and
payout batches carry no ledger postings (nullable; the evaluation does not read them).

    .venv/bin/python bench/subsidy_evaluation.py                  # build (~3 min on 2 cores) and time
    .venv/bin/python bench/subsidy_evaluation.py --keep           # reuse the built year: time only
    .venv/bin/python bench/subsidy_evaluation.py --build-only     # build, time nothing

It drops and recreates the database named by --db (default lailiao_bench) unless --keep, and
never touches another. The timed part runs in one transaction that is rolled back, on a scratch
copy of the policy (the same rules), so every run is a first evaluation (claims created, evidence
and flags written) and the database is left as built; run_evaluation's steps (the payouts read
inside compute, compute, record, flags) are timed separately. The results go to bench/results/subsidy_evaluation.json and .md.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import random
import subprocess
import sys
import time
from datetime import date, datetime, timezone as dt_timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "backend"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
RESULTS = REPO / "bench" / "results"

COUNTY = "331123"  # 遂昌县: where the data migration installs the 2009 policy


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--server", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server URL")
    p.add_argument("--db", default="lailiao_bench", help="scratch database (dropped and recreated unless --keep)")
    p.add_argument("--year", type=int, default=2025)
    p.add_argument("--brokers", type=int, default=1000)
    p.add_argument("--villages", type=int, default=950)
    p.add_argument("--workers", type=int, default=100_000)
    p.add_argument("--keep", action="store_true", help="reuse the database as built before: time only")
    p.add_argument("--build-only", action="store_true")
    p.add_argument("--no-write", action="store_true", help="print, do not write bench/results/")
    p.add_argument("--profile", action="store_true",
                   help="profile the first run_evaluation (cProfile, slower): where the time goes, by function")
    return p.parse_args()


def setup_django(args) -> None:
    os.environ.update(DATABASE_URL=f"{args.server}/{args.db}", DJANGO_SETTINGS_MODULE="config.settings.base",
                      LAILIAO_VAR_DIR=str(Path("/tmp") / f"{args.db}-var"))
    import django

    django.setup()


def workforce_sizes(brokers: int, workers: int) -> list[int]:
    """A skewed spread of workforce sizes summing to `workers`: most brokers have 30-150 workers,
    a few several hundred, so the higher tiers and the case line occur."""
    rng = random.Random(11)
    raw = [rng.lognormvariate(4.4, 0.6) for _ in range(brokers)]
    scale = workers / sum(raw)
    sizes = [max(5, int(r * scale)) for r in raw]
    sizes[sizes.index(max(sizes))] += workers - sum(sizes)
    return sizes


def build(args, cursor) -> dict[str, float]:
    """The county year, statement by statement; returns seconds per step."""
    y, b, v, w = args.year, args.brokers, args.villages, args.workers
    sizes = workforce_sizes(b, w)
    lows = [sum(sizes[:k]) for k in range(b)]
    steps: dict[str, float] = {}

    def run(label: str, sql: str, params=None) -> None:
        started = time.perf_counter()
        if params is None:
            cursor.execute(sql.replace("%%", "%"))
        else:
            cursor.execute(sql, params)
        steps[label] = steps.get(label, 0) + time.perf_counter() - started

    # the load bypasses the integrity and foreign-key triggers (see the module docstring)
    run("setup", "SET session_replication_role = replica")
    run("setup", "SET synchronous_commit = off")
    run("places and people", f"""
    INSERT INTO accounts_jurisdiction (code, name, name_en, level, parent_id, county_id)
      SELECT '{COUNTY}' || lpad(t::text, 3, '0'), '基准镇' || t, 'Bench township ' || t, 'township', c.id, c.id
      FROM generate_series(1, 19) t, accounts_jurisdiction c WHERE c.code = '{COUNTY}';
    INSERT INTO accounts_jurisdiction (code, name, name_en, level, parent_id, county_id)
      SELECT '{COUNTY}' || lpad((1 + g %% 19)::text, 3, '0') || lpad(g::text, 3, '0'), '基准村' || g,
             'Bench village ' || g, 'village', t.id, t.county_id
      FROM generate_series(0, {v - 1}) g
      JOIN accounts_jurisdiction t ON t.code = '{COUNTY}' || lpad((1 + g %% 19)::text, 3, '0');
    CREATE TEMP TABLE bench_village AS
      SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM accounts_jurisdiction
      WHERE level = 'village' AND name LIKE '基准村%%';
    CREATE UNIQUE INDEX ON bench_village (k);

    INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active,
                               date_joined, display_name, role, language)
      VALUES ('!', false, 'bench', '', '', '', false, true, now(), 'bench', 'admin', 'zh-hans');
    INSERT INTO accounts_organisation (kind, name, jurisdiction_id, contact_phone, created_at)
      SELECT 'firm', '义乌基准公司', id, '', now() FROM accounts_jurisdiction WHERE code = '{COUNTY}';
    CREATE TEMP TABLE bench_broker (k int PRIMARY KEY, lo int, hi int, id bigint, village_id bigint);
    INSERT INTO bench_broker (k, lo, hi)
      SELECT k - 1, lo, lo + size FROM unnest(%s::int[], %s::int[]) WITH ORDINALITY AS u(lo, size, k);
    INSERT INTO accounts_organisation (kind, name, jurisdiction_id, contact_phone, created_at)
      SELECT 'broker', '基准经纪人' || bb.k, bv.id, '', now()
      FROM bench_broker bb JOIN bench_village bv ON bv.k = bb.k %% {v} ORDER BY bb.k;
    UPDATE bench_broker bb SET id = o.id, village_id = o.jurisdiction_id
      FROM accounts_organisation o WHERE o.kind = 'broker' AND o.name = '基准经纪人' || bb.k;
    INSERT INTO brokers_brokerprofile (organisation_id, category, minute_rate, bank_name, bank_account, account_holder,
        attendance_bonus, attendance_bonus_enabled, late_days_allowed, updated_at)
      SELECT id, CASE WHEN k %% 10 = 0 THEN 'machinery' ELSE 'general' END, 0.25, '遂昌农商银行',
             '62309100' || lpad(k::text, 8, '0'), '经纪人' || k, 200, true, 2, now() FROM bench_broker;

    -- workers: the k-th belongs to the broker whose [lo, hi) holds k; 1%% move to the next broker
    -- in June (two memberships, paid by both in the year)
    INSERT INTO brokers_worker (name, phone, national_id, village_id, work_mode, household_tags, bank_name,
        bank_account, full_time_roster, created_at)
      SELECT '工人' || g, '', '331123' || lpad(g::text, 12, '0'), bv.id, 'home',
             CASE g %% 7 WHEN 0 THEN '["poor_household"]' WHEN 3 THEN '["left_behind_woman"]' ELSE '[]' END::jsonb,
             '遂昌农商银行', '62309101' || lpad(g::text, 11, '0'), false, now()
      FROM generate_series(0, {w - 1}) g JOIN bench_village bv ON bv.k = (g * 7) %% {v} ORDER BY g;
    CREATE TEMP TABLE bench_slot AS
      SELECT g AS k, bb.k AS broker_k FROM bench_broker bb, generate_series(bb.lo, bb.hi - 1) g;
    CREATE TEMP TABLE bench_worker AS
      SELECT x.id, x.k, bs.broker_k, x.k %% 100 = 3 AS mover
      FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM brokers_worker WHERE name LIKE '工人%%') x
      JOIN bench_slot bs ON bs.k = x.k;
    CREATE UNIQUE INDEX ON bench_worker (k);
    INSERT INTO brokers_membership (broker_id, worker_id, started_on, ended_on)
      SELECT bb.id, bw.id, DATE '{y - 2}-06-01', CASE WHEN bw.mover THEN DATE '{y}-05-31' END
      FROM bench_worker bw JOIN bench_broker bb ON bb.k = bw.broker_k;
    INSERT INTO brokers_membership (broker_id, worker_id, started_on, ended_on)
      SELECT bb.id, bw.id, DATE '{y}-06-01', NULL
      FROM bench_worker bw JOIN bench_broker bb ON bb.k = (bw.broker_k + 1) %% {b} WHERE bw.mover;
    ANALYZE bench_worker; ANALYZE bench_broker; ANALYZE bench_village;
    """, [lows, sizes])

    # --- payroll: 12 paid runs a broker, December Y-1 to November Y, paid the 10th of the next month
    run("payroll runs and batches", f"""
    CREATE TEMP TABLE bench_month AS
      SELECT m, (DATE '{y - 1}-12-01' + m * interval '1 month')::date AS month,
             (DATE '{y}-01-10' + m * interval '1 month')::date AS paid_on
      FROM generate_series(0, 11) m;
    INSERT INTO payments_payrollrun (broker_id, month, status, since_month, since_watermark, watermark, total,
        computed_at, closed_at, closed_by_id, paid_at, ledger_id, created_at)
      SELECT bb.id, bm.month, 'paid', NULL, 0, 0, 0, bm.month + interval '1 month',
             bm.month + interval '1 month 2 days', NULL, bm.paid_on + interval '10 hours', NULL,
             bm.month + interval '1 month'
      FROM bench_broker bb, bench_month bm;
    CREATE TEMP TABLE bench_run AS
      SELECT r.id, bb.k AS broker_k, bm.m, bm.paid_on FROM payments_payrollrun r
      JOIN bench_broker bb ON bb.id = r.broker_id JOIN bench_month bm ON bm.month = r.month;
    CREATE UNIQUE INDEX ON bench_run (broker_k, m);
    INSERT INTO payments_payoutbatch (run_id, number, status, bank_reference, paid_on, paid_at, paid_by_id, ledger_id,
        created_at)
      SELECT id, 1, 'paid', 'BENCH-' || id, paid_on, paid_on + interval '10 hours', NULL, NULL,
             paid_on - interval '8 days' FROM bench_run;
    ANALYZE bench_run;
    """)
    # a worker's month: 100-600 yuan by worker (about a sixth paid under 2,000 in the year), a
    # wobble by month, and at one broker in fifty a December payout three times the usual
    run("payslips", f"""
    INSERT INTO payments_payslip (run_id, worker_id, worker_name, total, days_present, days_late)
      SELECT br.id, bw.id, '工人' || bw.k,
             round((100 + (bw.k * 2654435761 %% 501)) * (0.85 + 0.1 * ((bw.k + bm.m) %% 4))
                   * CASE WHEN bm.m = 11 AND br.broker_k %% 50 = 7 THEN 3 ELSE 1 END, 2),
             20 + (bw.k + bm.m) %% 6, (bw.k + bm.m) %% 3
      FROM bench_worker bw CROSS JOIN bench_month bm
      JOIN bench_run br ON br.m = bm.m
        AND br.broker_k = CASE WHEN bw.mover AND bm.m >= 6 THEN (bw.broker_k + 1) %% {b} ELSE bw.broker_k END
    """)
    run("payslip lines", """
    INSERT INTO payments_payslipline (payslip_id, position, kind, work_month, procedure_id, rate, quantity, amount,
        params)
      SELECT s.id, 0, 'pieces', r.month, NULL, NULL, NULL, s.total, '{}'::jsonb
      FROM payments_payslip s JOIN payments_payrollrun r ON r.id = s.run_id
    """)
    run("payout items", """
    INSERT INTO payments_payoutitem (batch_id, payslip_id, worker_id, account_holder, bank_name, bank_account, amount,
        reference, status, failure_reason, retried_in_id, paid_on)
      SELECT pb.id, s.id, s.worker_id, s.worker_name, '遂昌农商银行', '6230910100' || s.worker_id, s.total,
             'B' || s.id, 'paid', '', NULL, pb.paid_on
      FROM payments_payslip s JOIN payments_payoutbatch pb ON pb.run_id = s.run_id
    """)
    run("payroll runs and batches", """
    UPDATE payments_payrollrun r SET total = t.total
      FROM (SELECT run_id, sum(total) AS total FROM payments_payslip GROUP BY run_id) t WHERE t.run_id = r.id
    """)

    # --- processing fees, Y-1 and Y: per broker and year an order, bid, award and invoice, 24
    # deliveries each inspected, each inspection a processing-fee line with its ledger posting.
    # The fee is about 1.3 times the wages of Y; Y-1 from 70% to 120% of Y, so the freight base (the
    # increase) is zero for some brokers. A few brokers have more than 2,000,000 (relocation's large amount).
    run("orders and invoices", f"""
    CREATE TEMP TABLE bench_fee AS
      SELECT bb.k, bb.id AS broker_id, yr.year,
             greatest(24, round(coalesce(wg.wages, 1000) * 1.3 / 2 / 24
                   * CASE WHEN yr.year = {y} THEN 1 ELSE 0.7 + 0.1 * (bb.k %% 6) END
                   * CASE WHEN bb.k %% 97 = 5 THEN 8 ELSE 1 END))::int AS pieces
      FROM bench_broker bb CROSS JOIN (VALUES ({y - 1}), ({y})) yr(year)
      LEFT JOIN (SELECT r.broker_k, sum(s.total) AS wages FROM payments_payslip s JOIN bench_run r ON r.id = s.run_id
                 GROUP BY r.broker_k) wg ON wg.broker_k = bb.k;
    INSERT INTO orders_order (firm_id, created_by_id, product, category, description, quantity, unit, modes,
        ceiling_unit_price_currency, ceiling_unit_price, bid_deadline, due_date, delivery_place, status,
        terms_version, created_at, published_at)
      SELECT f.id, u.id, '基准订单 ' || bf.year || '-' || bf.k, 'bead_work', '', bf.pieces * 24, '件', '["home"]',
             'CNY', 3, make_date(bf.year, 1, 5), make_date(bf.year, 12, 31), '义乌', 'completed', 1,
             make_date(bf.year, 1, 1), make_date(bf.year, 1, 1)
      FROM bench_fee bf, accounts_organisation f, accounts_user u WHERE f.kind = 'firm' AND u.username = 'bench';
    INSERT INTO orders_bid (order_id, broker_id, placed_by_id, unit_price_currency, unit_price, quantity,
        promised_date, note, status, terms_version, revision, created_at, updated_at)
      SELECT o.id, bf.broker_id, o.created_by_id, 'CNY', 2, o.quantity, o.due_date, '', 'active', 1, 1,
             o.created_at, o.created_at
      FROM orders_order o JOIN bench_fee bf ON o.product = '基准订单 ' || bf.year || '-' || bf.k;
    INSERT INTO orders_award (order_id, bid_id, broker_id, quantity, unit_price_currency, unit_price, status,
        awarded_by_id, awarded_at, promised_date, completed_at)
      SELECT bid.order_id, bid.id, bid.broker_id, bid.quantity, 'CNY', 2, 'completed', bid.placed_by_id,
             bid.created_at + interval '5 days', bid.promised_date, bid.promised_date
      FROM orders_bid bid JOIN orders_order o ON o.id = bid.order_id WHERE o.product LIKE '基准订单 %%';
    INSERT INTO payments_invoice (award_id, firm_id, broker_id, created_at)
      SELECT a.id, o.firm_id, a.broker_id, a.awarded_at FROM orders_award a JOIN orders_order o ON o.id = a.order_id
      WHERE o.product LIKE '基准订单 %%';
    CREATE TEMP TABLE bench_award AS
      SELECT a.id AS award_id, i.id AS invoice_id, a.broker_id, a.awarded_by_id AS user_id, o.firm_id, bf.year,
             bf.pieces
      FROM orders_award a JOIN orders_order o ON o.id = a.order_id JOIN payments_invoice i ON i.award_id = a.id
      JOIN bench_fee bf ON o.product = '基准订单 ' || bf.year || '-' || bf.k;
    INSERT INTO orders_delivery (award_id, quantity, note, status, delivered_at, delivered_by_id)
      SELECT ba.award_id, ba.pieces, 'bench ' || n, 'inspected',
             make_timestamptz(ba.year, 1 + n / 2, 1 + 14 * (n %% 2), 9, 0, 0, 'Asia/Shanghai'), ba.user_id
      FROM bench_award ba CROSS JOIN generate_series(0, 23) n;
    INSERT INTO orders_inspection (award_id, delivery_id, accepted, rejected, reason, inspected_at, inspected_by_id)
      SELECT d.award_id, d.id, d.quantity, 0, '', d.delivered_at + interval '1 hour', d.delivered_by_id
      FROM orders_delivery d JOIN bench_award ba ON ba.award_id = d.award_id;
    INSERT INTO payments_account (code, purpose, organisation_id, worker_id, name, created_at)
      SELECT 'firm_receivable:org' || id, 'firm_receivable', id, NULL, name || ' receivable', now()
      FROM accounts_organisation WHERE kind = 'firm' AND name = '义乌基准公司';
    INSERT INTO payments_account (code, purpose, organisation_id, worker_id, name, created_at)
      SELECT 'broker_income:org' || id, 'broker_income', id, NULL, '经纪人收入 ' || k, now() FROM bench_broker;
    INSERT INTO payments_transaction (idempotency_key, fingerprint, kind, memo, posted_at, posted_by_id, reason)
      SELECT 'bench-fee:' || i.id, md5(i.id::text), 'invoice_line', 'processing fee, inspection ' || i.id,
             i.inspected_at, NULL, ''
      FROM orders_inspection i JOIN bench_award ba ON ba.award_id = i.award_id;
    INSERT INTO payments_entry (transaction_id, account_id, amount_currency, amount)
      SELECT t.id, acc.id, 'CNY', side.sign * i.accepted * 2
      FROM orders_inspection i JOIN bench_award ba ON ba.award_id = i.award_id
      JOIN payments_transaction t ON t.idempotency_key = 'bench-fee:' || i.id
      CROSS JOIN (VALUES (1), (-1)) side(sign)
      JOIN payments_account acc ON acc.code = CASE side.sign WHEN 1 THEN 'firm_receivable:org' || ba.firm_id
                                                            ELSE 'broker_income:org' || ba.broker_id END;
    INSERT INTO payments_invoiceline (invoice_id, kind, inspection_id, description, quantity, unit_price, amount,
        due_on, ledger_id)
      SELECT ba.invoice_id, 'processing_fee', i.id, '验收合格 ' || i.accepted || ' 件', i.accepted, 2, i.accepted * 2,
             (i.inspected_at + interval '30 days')::date, t.id
      FROM orders_inspection i JOIN bench_award ba ON ba.award_id = i.award_id
      JOIN payments_transaction t ON t.idempotency_key = 'bench-fee:' || i.id;
    """)

    # --- loans, relocations, professional villages
    run("loans, relocations, villages", f"""
    INSERT INTO brokers_loan (broker_id, lender, principal, start, "end", contract_number, contract, contract_name,
        contract_type, registered_by_id, registered_at)
      SELECT bb.id, '遂昌农商银行', (10 + (bb.k * 13) %% 20 * 10) * 1000, DATE '{y - 1}-06-01' + (bb.k %% 400),
             CASE WHEN bb.k %% 4 = 0 THEN DATE '{y - 1}-06-01' + (bb.k %% 400) + 365 END, 'JK-' || bb.k, '', '', '',
             u.id, (DATE '{y - 1}-06-01' + (bb.k %% 400) + CASE WHEN bb.k %% 7 = 0 THEN 40 ELSE -3 END)::timestamptz
      FROM bench_broker bb, accounts_user u WHERE bb.k %% 3 = 0 AND u.username = 'bench';
    INSERT INTO brokers_relocation (broker_id, zone_kind, zone_name, moved_on, evidence)
      SELECT id, CASE WHEN k %% 2 = 0 THEN 'county_park' ELSE 'township_zone' END,
             CASE WHEN k %% 2 = 0 THEN '遂昌县工业园区' ELSE '基准镇工业功能区' END,
             DATE '{y}-03-01' + (k %% 200), '入园协议 RY-' || k
      FROM bench_broker WHERE k %% 25 = 4 OR k %% 97 = 5;
    INSERT INTO brokers_professionalvillagestatus (village_id, is_professional, effective_from, basis, evidence,
        decided_by_id, decided_at)
      SELECT bv.id, true, DATE '2015-01-01' + (bv.k %% 2000)::int, 'criteria', '县妇联认定 ' || bv.k, u.id, now()
      FROM bench_village bv, accounts_user u WHERE bv.k %% 4 = 0 AND u.username = 'bench';
    INSERT INTO brokers_professionalvillagestatus (village_id, is_professional, effective_from, basis, evidence,
        decided_by_id, decided_at)
      SELECT bv.id, true, DATE '{y}-02-01' + (bv.k %% 300)::int, 'designation', '县妇联实地核查 ' || bv.k, u.id, now()
      FROM bench_village bv, accounts_user u WHERE bv.k %% 19 = 1 AND bv.k %% 4 <> 0 AND u.username = 'bench';
    """)
    run("reset", "RESET session_replication_role")
    started = time.perf_counter()
    cursor.execute("ANALYZE")
    steps["analyze"] = time.perf_counter() - started
    return steps


def census(cursor, year: int) -> dict[str, int]:
    out = {}
    for label, sql in [
        ("brokers", "SELECT count(*) FROM accounts_organisation WHERE kind = 'broker'"),
        ("machinery brokers", "SELECT count(*) FROM brokers_brokerprofile WHERE category = 'machinery'"),
        ("villages", "SELECT count(*) FROM accounts_jurisdiction WHERE level = 'village'"),
        ("workers", "SELECT count(*) FROM brokers_worker"),
        ("payroll runs", "SELECT count(*) FROM payments_payrollrun"),
        ("payslips", "SELECT count(*) FROM payments_payslip"),
        ("payslip lines", "SELECT count(*) FROM payments_payslipline"),
        ("payout items paid in the year", f"SELECT count(*) FROM payments_payoutitem WHERE status = 'paid' "
                                          f"AND paid_on BETWEEN '{year}-01-01' AND '{year}-12-31'"),
        ("processing-fee lines", "SELECT count(*) FROM payments_invoiceline WHERE kind = 'processing_fee'"),
        ("ledger transactions", "SELECT count(*) FROM payments_transaction"),
        ("loans", "SELECT count(*) FROM brokers_loan"),
        ("relocations", "SELECT count(*) FROM brokers_relocation"),
        ("village status records", "SELECT count(*) FROM brokers_professionalvillagestatus"),
    ]:
        cursor.execute(sql)
        out[label] = cursor.fetchone()[0]
    return out


def machine(cursor) -> dict[str, str]:
    cursor.execute("SHOW server_version")
    pg_version = cursor.fetchone()[0]
    mem = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout.splitlines()[1].split()[1]
    return {"cores": str(os.cpu_count()), "ram_gib": mem, "platform": platform.platform(), "postgresql": pg_version}


def slowest(queries, n: int = 6) -> list[dict]:
    """The `n` slowest queries captured, with their time and the first characters of their SQL."""
    rows = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:n]
    return [{"s": round(float(q["time"]), 3), "sql": q["sql"][:2000]} for q in rows]  # long IN lists and bulk inserts cut


def explain(sql: str) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of a captured SELECT (the SQL as Django logged it, parameters
    inlined), for where the time goes."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql.replace("%", "%%"))
        return "\n".join(row[0] for row in cursor.fetchall())


class _Timed:
    """Seconds spent in some module functions while it is on, by label: run_evaluation's steps
    (compute, record, flag_claims, and the one read of the county year's payouts inside compute)
    timed where they run, without changing the code measured."""

    def __init__(self, targets: dict[str, tuple[object, str]]):
        self.targets, self.seconds, self.saved = targets, {}, {}

    def __enter__(self):
        for label, (owner, name) in self.targets.items():
            original = getattr(owner, name)
            self.saved[label] = (owner, name, original)

            def timed(*args, _original=original, _label=label, **kwargs):
                started = time.perf_counter()
                try:
                    return _original(*args, **kwargs)
                finally:
                    self.seconds[_label] = round(self.seconds.get(_label, 0) + time.perf_counter() - started, 3)
            setattr(owner, name, timed)
        return self

    def __exit__(self, *exc):
        for owner, name, original in self.saved.values():
            setattr(owner, name, original)


class _RolledBack(Exception):
    pass


def evaluate(year: int, profile: bool = False) -> dict:
    """The measurements, in one transaction rolled back at the end, so that the database is left as
    built (with --keep every run measures a first evaluation, claims created, evidence and flags
    written, and another user of the database sees nothing of it). The commit of the writes is
    therefore not timed (a few hundred milliseconds of WAL flush)."""
    from django.db import transaction

    out: dict = {}
    try:
        with transaction.atomic():
            _evaluate(year, profile, out)
            raise _RolledBack
    except _RolledBack:
        pass
    return out


def _evaluate(year: int, profile: bool, out: dict) -> None:
    """compute() alone (twice: cold and warm), then run_evaluation on a queued evaluation (its steps
    timed: compute, record, flags), then the same evaluation again (a re-run: nothing changes,
    nothing is duplicated), then a month of loan interest."""
    from subsidies.models import Claim, ClaimEvidence, Evaluation, PolicyVersion, RiskFlag
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from subsidies.services import evaluation

    from accounts.models import Jurisdiction
    from subsidies import suichang
    from subsidies.models import Policy

    # the data migration's policy for 331123; found by county, not by code (see the report: the
    # migration's load() stores it under the code "331100" while the loop variable shadows it)
    county = Jurisdiction.objects.get(code=COUNTY)
    policy = (Policy.objects.filter(jurisdiction=county).order_by("pk").first()
              or suichang.load(county=county, code=suichang.CODE))
    from payments import figures
    from subsidies.services import flags

    existing = Claim.objects.filter(policy=policy, period_start=date(year, 1, 1)).count()
    # a scratch copy of the policy (the same rules and parameters: suichang.load), so that the
    # first run is a first evaluation (claims created, evidence and flags written) even when the
    # county's policy was evaluated before in this database, and no row another user of the
    # database holds is locked; rolled back with the rest
    policy = suichang.load(county=county, code=f"bench-{os.getpid()}-{time.time_ns()}")
    out["policy_evaluated_before"] = {"code": Policy.objects.filter(jurisdiction=county).order_by("pk").first().code,
                                      "claims": existing}
    version = policy.versions.get(status=PolicyVersion.Status.ACTIVE)
    start = date(year, 1, 1)
    out.update({"policy": policy.code, "version": version.number, "period_start": str(start),
                "claims_before": Claim.objects.filter(version=version).count()})  # 0: the runs are rolled back
    for label in ("compute_cold_s", "compute_warm_s"):
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            proposals = evaluation.compute(version, period="year", period_start=start)
        out[label] = round(time.perf_counter() - started, 3)
    out["compute_queries"] = len(queries)
    out["compute_slowest"] = slowest(queries)
    out["proposals"] = len(proposals)
    by_kind: dict[str, int] = {}
    for proposal in proposals:
        by_kind[proposal.kind] = by_kind.get(proposal.kind, 0) + 1
    out["proposals_by_kind"] = by_kind

    for label in ("run_evaluation_s", "rerun_evaluation_s"):
        queued = Evaluation.objects.create(version=version, period=Evaluation.Period.YEAR, period_start=start)
        started = time.perf_counter()
        profiler = cProfile.Profile() if profile and label == "run_evaluation_s" else None
        steps = _Timed({"compute": (evaluation, "compute"), "payouts_read": (figures.CountyYearPayouts, "_load"),
                        "record": (evaluation, "record"), "flags": (flags, "flag_claims")})
        with CaptureQueriesContext(connection) as queries, steps:
            if profiler:
                profiler.enable()
            done = evaluation.run_evaluation(queued.pk)
            if profiler:
                profiler.disable()
        out[label] = round(time.perf_counter() - started, 3)
        out[label.replace("_s", "_steps_s")] = steps.seconds
        if profiler:
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(35)
            out["run_evaluation_profile"] = text.getvalue()[-12000:]
        out[label.replace("_s", "_queries")] = len(queries)
        out[label.replace("_s", "_slowest")] = slowest(queries)
        done.refresh_from_db()
        out[label.replace("_s", "_counts")] = done.counts
        out[label.replace("_s", "_status")] = done.status
    out["claims"] = Claim.objects.filter(version=version, period_start=start).count()
    out["claims_by_kind"] = {row["kind"]: row["n"] for row in Claim.objects.filter(version=version)
                             .values("kind").annotate(n=__import__("django.db.models", fromlist=["Count"]).Count("id"))}
    out["evidence_rows"] = ClaimEvidence.objects.filter(claim__version=version).count()
    # where compute's time goes: the plans of its three slowest reads
    out["compute_plans"] = [{"s": q["s"], "sql": q["sql"][:300], "plan": explain(q["sql"])}
                            for q in out["compute_slowest"][:3] if q["sql"].lstrip().upper().startswith("SELECT")]
    out["risk_flags"] = RiskFlag.objects.filter(claim__version=version).count()
    # one month of loan interest too (the monthly run), for the record: January after the year,
    # whose eligibility is the year's wages
    month = date(year + 1, 1, 1)
    queued = Evaluation.objects.create(version=version, period=Evaluation.Period.MONTH, period_start=month)
    started = time.perf_counter()
    done = evaluation.run_evaluation(queued.pk)
    out["month_run_evaluation_s"] = round(time.perf_counter() - started, 3)
    out["month_counts"] = Evaluation.objects.get(pk=done.pk).counts


def write(result: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "subsidy_evaluation.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    m, e, c = result["machine"], result.get("evaluation", {}), result["rows"]
    lines = [
        f"# Subsidy evaluation at county scale ({result['measured_at'][:10]})",
        "",
        f"machine: {m['cores']} cores, {m['ram_gib']} GiB, {m['platform']}, PostgreSQL {m['postgresql']}",
        f"command: `{result['command']}`",
        "load average before the run (a shared machine): "
        + ", ".join(f"{x:.1f}" for x in result["load_average_before"])
        + ("; after: " + ", ".join(f"{x:.1f}" for x in result["load_average_after"])
           if result.get("load_average_after") else ""),
        f"built in {result.get('build_s', 'n/a')} s (not rebuilt: --keep)" if result.get("kept") else
        f"built in {result['build_s']} s",
        "",
        "| rows | count |", "|---|---|",
        *[f"| {k} | {v:,} |" for k, v in c.items()],
        "",
    ]
    if e:
        lines += [
            f"| step ({result['year']}, Suichang 2009 v{e['version']}) | seconds |", "|---|---|",
            f"| compute() alone, cold | {e['compute_cold_s']} |",
            f"| compute() alone, warm | {e['compute_warm_s']} |",
            f"| run_evaluation (claims, evidence, flags written) | **{e['run_evaluation_s']}** |",
            *[f"| — of it {k} | {v} |" for k, v in e.get("run_evaluation_steps_s", {}).items()],
            f"| run_evaluation again (nothing changed) | {e['rerun_evaluation_s']} |",
            *[f"| — of it {k} | {v} |" for k, v in e.get("rerun_evaluation_steps_s", {}).items()],
            f"| run_evaluation, one month of loan interest | {e['month_run_evaluation_s']} |",
            "",
            f"proposals: {e['proposals']:,} {e['proposals_by_kind']}; claims: {e['claims']:,}; "
            f"evidence rows: {e['evidence_rows']:,}; risk flags: {e['risk_flags']:,}",
            f"counts, first run: {e['run_evaluation_counts']}; re-run: {e['rerun_evaluation_counts']}",
        ]
    if e.get("compute_slowest"):
        lines += ["", f"compute(): {e['compute_queries']} queries; the slowest:", ""]
        lines += [f"- {q['s']} s: `{q['sql'][:160]}…`" for q in e["compute_slowest"]]
        lines += ["", f"run_evaluation: {e['run_evaluation_queries']} queries; the slowest:", ""]
        lines += [f"- {q['s']} s: `{q['sql'][:160]}…`" for q in e["run_evaluation_slowest"]]
        for q in e.get("compute_plans", []):
            lines += ["", f"plan ({q['s']} s): `{q['sql'][:120]}…`", "", "```", q["plan"], "```"]
    if e.get("run_evaluation_profile"):
        lines += ["", "run_evaluation profiled (cProfile, by cumulative time):", "", "```",
                  e["run_evaluation_profile"].strip(), "```"]
    if result.get("notes"):
        lines += ["", *result["notes"]]
    (RESULTS / "subsidy_evaluation.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    args = parse()
    if not args.db.startswith("lailiao_bench"):
        raise SystemExit("refusing a database whose name does not start with lailiao_bench")
    result: dict = {"command": " ".join(["bench/subsidy_evaluation.py", *sys.argv[1:]]), "year": args.year,
                    "load_average_before": os.getloadavg(),
                    "measured_at": datetime.now(dt_timezone.utc).isoformat(timespec="seconds"), "kept": args.keep}
    if not args.keep:
        from piecelogs import recreate_database

        recreate_database(args.server, args.db)
    setup_django(args)
    from django.core.management import call_command
    from django.db import connection

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    result["migrate_s"] = round(time.perf_counter() - started, 1)
    with connection.cursor() as cursor:
        if not args.keep:
            started = time.perf_counter()
            steps = build(args, cursor)
            result["build_s"] = round(time.perf_counter() - started, 1)
            result["build_steps_s"] = {k: round(v, 1) for k, v in steps.items()}
        result["rows"] = census(cursor, args.year)
        result["machine"] = machine(cursor)
    print(json.dumps({k: result[k] for k in ("rows", "machine", "build_s", "build_steps_s") if k in result},
                     indent=2, ensure_ascii=False))
    if not args.build_only:
        result["evaluation"] = evaluate(args.year, profile=args.profile)
        result["load_average_after"] = os.getloadavg()
        print(json.dumps(result["evaluation"], indent=2, ensure_ascii=False))
    if not args.no_write:
        write(result)


if __name__ == "__main__":
    main()

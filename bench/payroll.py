"""Benchmark: closing brokers' payroll on a county-scale month, on PostgreSQL.

Builds the same month as bench/piecelogs.py (100,000 workers, 1,000 brokers, 5,000,000 piece
logs; about 100 workers and 5,000 logs a broker), then, through the real services, for a sample
of brokers: previews and closes the month (one grouped query over the logs, payslips stored,
the ledger posted, the payout batch made), records the batch paid, adds late logs for the closed
month and previews next month (the adjustment path, over the (broker, id) index). Prints the
timings and the plan of the settlement query.

    .venv/bin/python bench/payroll.py                        # the full month (5M rows)
    .venv/bin/python bench/payroll.py --logs 500000 --workers 10000 --brokers 100   # quick

The month must be over (close refuses a month that is not): --month defaults to 2026-10-01.
It drops and recreates the database named by --db (default lailiao_bench_payroll).
"""
from __future__ import annotations

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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from piecelogs import REPO, build, parse, pct, scratch_database, timed  # noqa: E402

sys.path.insert(0, str(REPO / "backend"))


def main() -> None:
    sys.argv += [] if any(a.startswith("--db") for a in sys.argv) else ["--db", "lailiao_bench_payroll"]
    args = parse()
    month_start = date.fromisoformat(args.month)
    connection = scratch_database(args)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        build(args, cursor, month_start)
        cursor.execute("SELECT count(*) FROM brokers_piecelog")
        rows = cursor.fetchone()[0]
    load_s = time.perf_counter() - started

    from accounts.models import Organisation, Role, User
    from brokers import services
    from brokers.models import Bundle, Membership
    from payments import payouts, payroll
    from payments.models import PayoutItem, PayrollRun, PayslipLine

    rng = random.Random(11)
    broker_ids = rng.sample(list(Organisation.objects.filter(kind="broker").values_list("pk", flat=True)),
                            min(args.samples, 50))
    preview_ms, close_ms, paid_ms, late_ms, next_ms = [], [], [], [], []
    slips = lines = 0
    for broker_id in broker_ids:
        actor = User.objects.create(username=f"bench-owner-{broker_id}", role=Role.BROKER_OWNER,
                                    organisation_id=broker_id)
        run_holder = {}
        preview_ms += timed(lambda: run_holder.update(run=payroll.payroll_preview(actor=actor, month=month_start)[0]))
        run = run_holder["run"]
        close_ms += timed(lambda: payroll.payroll_close(actor=actor, run_id=run.pk))
        batch = run.batches.get()
        paid_ms += timed(lambda: payouts.batch_mark_paid(actor=actor, batch_id=batch.pk, bank_reference=f"B{run.pk}",
                                                         paid_on=date.today()))
        slips += run.payslips.count()
        lines += PayslipLine.objects.filter(payslip__run=run).count()
        # 50 late logs for the closed month, then next month's preview settles them as adjustments
        members = list(Membership.objects.filter(broker_id=broker_id).values_list("worker_id", flat=True)[:50])
        # bundles with no logs yet: the generated month piles a broker's logs into few bundles
        bundles = list(Bundle.objects.filter(broker_id=broker_id).exclude(piece_logs__isnull=False)
                       .select_related("award")[:5])
        procedures = list(bundles[0].award.order.procedures.values_list("pk", flat=True))
        late = [{"worker": w, "bundle": rng.choice(bundles).pk, "procedure": rng.choice(procedures), "quantity": 1,
                 "work_date": month_start + timedelta(days=3), "client_id": uuid.uuid4().hex} for w in members]
        late_ms += timed(lambda: services.piece_logs_record(actor=actor, rows=late))
        next_month = payroll.next_month(month_start)
        next_ms += timed(lambda: payroll.payroll_preview(actor=actor, month=next_month))
    adjustments = PayslipLine.objects.filter(kind="adjustment").count()
    paid_items = PayoutItem.objects.filter(status="paid").count()

    sample = PayrollRun.objects.filter(month=payroll.next_month(month_start)).first()
    window = payroll.Window(sample.since_month, sample.since_watermark, sample.watermark)
    query = payroll.settled_logs(sample.broker_id, sample.month, window)
    with connection.cursor() as cursor:
        sql, params = query.values("worker_id").query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(r[0] for r in cursor.fetchall())
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]

    mem = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout.splitlines()[1].split()[1]
    print(f"# payroll at county scale ({date.today()})")
    print(f"machine: {os.cpu_count()} cores, {mem} GiB, {platform.platform()}, PostgreSQL {pg_version}")
    print(f"command: {' '.join(sys.argv)}")
    print(f"rows: {rows:,} piece logs; built in {load_s:.0f} s; {len(broker_ids)} brokers closed: {slips:,} payslips, "
          f"{lines:,} lines, {paid_items:,} payments recorded, {adjustments:,} adjustment lines next month")
    print()
    print("| step (per broker, ~100 workers, ~5,000 logs) | samples | p50 ms | p95 ms | max ms |")
    print("|---|---|---|---|---|")
    for label, values in [("preview the month", preview_ms), ("close (recompute, ledger, batch)", close_ms),
                          ("record the batch paid", paid_ms), ("50 late logs for the closed month", late_ms),
                          ("preview next month (adjustments)", next_ms)]:
        print(f"| {label} | {len(values)} | {statistics.median(values):.1f} | {pct(values, 0.95):.1f} | "
              f"{max(values):.1f} |")
    print()
    print(f"plan, next month's settlement (late logs of the closed month by (broker, id)):\n{plan}")


if __name__ == "__main__":
    main()

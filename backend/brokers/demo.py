"""Demo workforce and piecework: broker profiles, a professional village, and at 遂昌建明服装厂 the
bracelet award cut into bundles with piece rates, piece logs and attendance from the first of last
month to today (today included, so on the 1st this month already has pieces and a worker's
earnings screen is never empty), a worker's tea-picking weeks and an open dispute. "Today" is the
Asia/Shanghai date (`timezone.localdate`), whatever the hour in UTC.

Through the real services, as the broker and the workers would through the API. Idempotent:
profiles and statuses are found before they are written, bundles are cut only once, and every
piece log has a fixed client id, so a second run is answered as resends."""
from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import Jurisdiction, User
from orders.models import Award

from . import services
from .models import (
    Attendance, Availability, BrokerCategory, BrokerProfile, Bundle, Dispute, Membership, PieceLog, PieceRate,
    ProfessionalVillageStatus, Relocation, TrainingRecord, Worker,
)

PROFILES = {
    # username: (category, minute rate, bonus on, bank)
    "broker1": (BrokerCategory.GENERAL, "0.2100", True, ("遂昌农商银行大柘支行", "6230 9100 0012 3456 781")),
    "broker2": (BrokerCategory.GENERAL, "0.2000", True, ("遂昌农商银行北界支行", "6230 9100 0023 4567 892")),
    "broker3": (BrokerCategory.MACHINERY, "0.3500", False, ("中国农业银行遂昌支行", "6228 4800 0034 5678 903")),
}


def _profiles(users: dict[str, User]) -> None:
    for username, (category, minute_rate, bonus, (bank, account)) in PROFILES.items():
        org = users[username].organisation
        profile = services.profile_for(org.pk)
        if profile.bank_account:
            continue
        services.broker_profile_update(actor=users[username], data={
            "category": category, "minute_rate": Decimal(minute_rate), "attendance_bonus_enabled": bonus,
            "bank_name": bank, "bank_account": account, "account_holder": users[username].display_name,
        })
    broker1 = users["broker1"]
    if not TrainingRecord.objects.filter(broker=broker1.organisation).exists():
        services.training_add(actor=broker1, data={"course": "遂昌县来料加工经纪人培训班（五天）",
                                                   "completed_on": date(2025, 4, 18), "days": Decimal("5"),
                                                   "certificate_no": "SCJJR-2025-031"})
    if not Relocation.objects.filter(broker=broker1.organisation).exists():
        services.relocation_add(actor=broker1, data={"zone_kind": "county_park", "zone_name": "遂昌县工业园区",
                                                     "moved_on": date(2025, 9, 1),
                                                     "evidence": "园区管委会入园协议 SCGY-2025-117"})
    if not broker1.organisation.sites.exists():
        services.site_add(actor=broker1, data={"kind": "factory", "name": "建明服装厂大柘车间",
                                               "location": broker1.organisation.jurisdiction,
                                               "address": "大柘镇工业区3号"})
        services.site_add(actor=broker1, data={"kind": "home_network", "name": "大柘村居家加工户",
                                               "location": Jurisdiction.objects.get(code="331123101201")})


def _village(auditor: User) -> None:
    village = Jurisdiction.objects.get(code="331123101201")
    if not ProfessionalVillageStatus.objects.filter(village=village).exists():
        services.village_status_set(actor=auditor, village_id=village.pk, is_professional=True, basis="designation",
                                    evidence="2025年全村来料加工费182万元，参与农户146户，县妇联实地核查。",
                                    effective_from=date(2025, 12, 1))


def last_month_start(today: date) -> date:
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def workdays(today: date) -> list[date]:
    """The first of last month to today: Sundays off, but today is always worked (so far), even
    a Sunday, so the current month has pieces whatever day it is."""
    start = last_month_start(today)
    days = [start + timedelta(days=i) for i in range((today - start).days + 1)]
    return [day for day in days if day.weekday() != 6 or day == today]


def _piecework(broker: User) -> None:
    award = Award.objects.filter(broker=broker.organisation, order__product="水晶串珠手链").first()
    if award is None:
        return
    if PieceLog.objects.filter(bundle__award=award).exists():
        return  # logged by an earlier seed (perhaps in an earlier month): never log it again
    if not Bundle.objects.filter(award=award).exists():
        services.bundles_cut(actor=broker, award_id=award.pk, size=100)
    procedures = list(award.order.procedures.order_by("sequence"))
    profile = services.profile_for(broker.organisation_id)
    for procedure in procedures:
        if not PieceRate.objects.filter(award=award, procedure=procedure).exists():
            rate = (procedure.standard_minutes * profile.minute_rate).quantize(Decimal("0.0001"))
            services.piece_rate_set(actor=broker, award_id=award.pk, procedure_id=procedure.pk, rate=rate)

    today = timezone.localdate()
    workers = list(Worker.objects.filter(memberships__broker=broker.organisation, memberships__ended_on__isnull=True)
                   .order_by("pk"))
    bundles = list(Bundle.objects.filter(award=award).order_by("number"))
    rng = random.Random(award.pk)
    # Each procedure runs through the bundles in order; each worker does some pieces a day. The
    # daily output keeps the longest window (31 + 31 days, 55 workdays with today) within the
    # bundles, so the pieces never run out before today: on 3,000 pieces 15 threaders at 2-5 and
    # 5 knotters at 8-13 a day draw about 2,800 of each procedure at most; a smaller award
    # (北界's 2,000) scales the day down.
    capacity = sum(b.size for b in bundles)
    cursor = {p.pk: [0, 0] for p in procedures}  # procedure → [bundle index, pieces in it]
    rows, marks = [], []
    for day in workdays(today):
        day_marks = []
        for n, worker in enumerate(workers):
            late, away = rng.random() < 0.06, rng.random() < 0.05
            if away and day != today:  # today everyone came in: no login sees an empty day
                day_marks.append({"worker": worker.pk, "mark": Attendance.Mark.LEAVE,
                                  "leave_reason": rng.choice(["farm_season", "child_care", "sick"])})
                continue
            day_marks.append({"worker": worker.pk, "mark": Attendance.Mark.LATE if late else Attendance.Mark.ON_TIME})
            procedure = procedures[0] if n % 4 else procedures[-1]
            at = cursor[procedure.pk]
            wanted = 2 + rng.randrange(4) if procedure is procedures[0] else 8 + rng.randrange(6)
            wanted = max(1, wanted * capacity // 3000)
            while wanted and at[0] < len(bundles):
                bundle = bundles[at[0]]
                take = min(wanted, bundle.size - at[1])
                rows.append({"worker": worker.pk, "bundle": bundle.pk, "procedure": procedure.pk, "quantity": take,
                             "work_date": day, "client_id": f"demo-{award.pk}-{day:%Y%m%d}-{worker.pk}-{bundle.pk}"})
                wanted -= take
                at[1] += take
                if at[1] == bundle.size:
                    at[0], at[1] = at[0] + 1, 0
        marks.append((day, day_marks))
    for chunk in range(0, len(rows), 1000):
        services.piece_logs_record(actor=broker, rows=rows[chunk:chunk + 1000])
    for day, day_marks in marks:
        if not Attendance.objects.filter(broker=broker.organisation, date=day).exists():
            services.attendance_mark(actor=broker, day=day, marks=day_marks)


def _worker_voice(users: dict[str, User]) -> None:
    worker_user = users["worker1"]
    worker = worker_user.worker
    if not Dispute.objects.filter(worker=worker).exists():
        log = PieceLog.objects.filter(worker=worker, reverses__isnull=True, quantity__gte=4).order_by("-work_date").first()
        if log is not None:
            services.dispute_open(actor=worker_user, log_id=log.pk, kind=Dispute.Kind.WRONG_COUNT,
                                  correct_quantity=log.quantity - 2, note="那天我穿了两条少的，记多了。")
    tea = users["worker2"].worker
    if not Availability.objects.filter(worker=tea).exists():
        start = timezone.localdate() + timedelta(days=10)
        services.availability_declare(actor=users["worker2"], start_date=start, end_date=start + timedelta(days=13),
                                      reason="farm_season", note="采春茶两周")


@transaction.atomic
def build_piecework_demo() -> None:
    """Needs the demo accounts (core.demo) and the demo orders (orders.demo)."""
    users = {u.username: u for u in User.objects.filter(
        username__in=["broker1", "broker2", "broker3", "auditor", "worker1", "worker2"]).select_related("worker")}
    _profiles(users)
    _village(users["auditor"])
    # two workers of the factory floor are on the full-time roster (payroll's minimum-wage top-up)
    roster = Worker.objects.filter(work_mode="factory", memberships__broker=users["broker1"].organisation)
    if not roster.filter(full_time_roster=True).exists():
        Worker.objects.filter(pk__in=list(roster.order_by("pk").values_list("pk", flat=True)[:2])).update(
            full_time_roster=True)
    _piecework(users["broker1"])
    _piecework(users["broker2"])  # 北界's October stays open in the payments demo, for a close by hand
    _worker_voice(users)
    assert BrokerProfile.objects.exists() and Membership.objects.exists()

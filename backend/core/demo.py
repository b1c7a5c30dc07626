"""The demo county: a believable Suichang for `make run` and for trying the API by hand.

Idempotent: every row is found by a natural key before it is created, so running it again
changes nothing."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Jurisdiction, Organisation, Role, User
from brokers.demo import build_piecework_demo, last_month_start
from brokers.models import HouseholdTag, Membership, WorkMode, Worker
from orders.demo import build_orders_demo
from payments.demo import build_payments_demo
from subsidies.demo import build_subsidies_demo

L = Jurisdiction.Level

# (code, name, English name, level, parent code). Township and village codes follow the
# national pattern but are demo values, not official ones.
JURISDICTIONS: list[tuple[str, str, str, str, str | None]] = [
    ("330000", "浙江省", "Zhejiang", L.PROVINCE, None),
    ("331100", "丽水市", "Lishui", L.CITY, "330000"),
    ("331102", "莲都区", "Liandu", L.COUNTY, "331100"),
    ("331121", "青田县", "Qingtian", L.COUNTY, "331100"),
    ("331122", "缙云县", "Jinyun", L.COUNTY, "331100"),
    ("331123", "遂昌县", "Suichang", L.COUNTY, "331100"),
    ("331124", "松阳县", "Songyang", L.COUNTY, "331100"),
    ("331125", "云和县", "Yunhe", L.COUNTY, "331100"),
    ("331126", "庆元县", "Qingyuan", L.COUNTY, "331100"),
    ("331127", "景宁畲族自治县", "Jingning", L.COUNTY, "331100"),
    ("331181", "龙泉市", "Longquan", L.COUNTY, "331100"),
    ("331123001", "妙高街道", "Miaogao", L.TOWNSHIP, "331123"),
    ("331123101", "大柘镇", "Dazhe", L.TOWNSHIP, "331123"),
    ("331123102", "北界镇", "Beijie", L.TOWNSHIP, "331123"),
    ("331123103", "石练镇", "Shilian", L.TOWNSHIP, "331123"),
    ("331123101201", "大柘村", "Dazhe Village", L.VILLAGE, "331123101"),
    ("331123102201", "苏村", "Su Village", L.VILLAGE, "331123102"),
    ("331123103201", "淤溪村", "Yuxi Village", L.VILLAGE, "331123103"),
    # Where the orders come from.
    ("330700", "金华市", "Jinhua", L.CITY, "330000"),
    ("330782", "义乌市", "Yiwu", L.COUNTY, "330700"),
]

VILLAGE_CODES = ["331123101201", "331123102201", "331123103201"]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    who: str


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
GIVEN = ["秀英", "桂英", "秀兰", "玉兰", "桂兰", "凤英", "丽华", "美华", "春梅", "海燕", "小红", "金花", "彩霞", "素芬", "月娥"]


def national_id(area: str, born: date, seq: int) -> str:
    """A well-formed 18-digit resident ID (GB 11643 checksum); an even `seq` marks a woman."""
    body = f"{area}{born:%Y%m%d}{seq:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights)) % 11]
    return body + check


def joined_on(today: date) -> date:
    """The workers joined on 5 January 2026, or on the first of last month (where their piece
    logs start) if the demo is seeded before February 2026."""
    return min(date(2026, 1, 5), last_month_start(today))


def _jurisdictions() -> dict[str, Jurisdiction]:
    by_code: dict[str, Jurisdiction] = {}
    for code, name, name_en, level, parent_code in JURISDICTIONS:
        node = Jurisdiction.objects.filter(code=code).first()
        if node is None:
            node = Jurisdiction(code=code, name=name, name_en=name_en, level=level)
            node.parent = by_code[parent_code] if parent_code else None
            node.save()
        by_code[code] = node
    return by_code


def _organisation(kind: str, name: str, jurisdiction: Jurisdiction, phone: str = "") -> Organisation:
    org, _ = Organisation.objects.get_or_create(
        kind=kind, name=name, defaults={"jurisdiction": jurisdiction, "contact_phone": phone}
    )
    return org


def _user(username: str, role: str, display_name: str, organisation: Organisation | None = None,
          phone: str | None = None, **extra) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username, role=role, display_name=display_name, organisation=organisation,
                    phone=phone, **extra)
        user.set_password(settings.DEMO_PASSWORD)
        user.save()
    return user


@transaction.atomic
def build_demo() -> list[DemoLogin]:
    places = _jurisdictions()
    suichang, yiwu = places["331123"], places["330782"]

    firm = _organisation(Organisation.Kind.FIRM, "义乌市恒亿饰品有限公司", yiwu, "0579-85551234")
    federation = _organisation(Organisation.Kind.FEDERATION, "遂昌县妇女联合会", suichang, "0578-8122345")
    brokers = [
        _organisation(Organisation.Kind.BROKER, "遂昌建明服装厂", places["331123101"], "13905781001"),
        _organisation(Organisation.Kind.BROKER, "北界巧手来料加工中心", places["331123102"], "13905781002"),
        _organisation(Organisation.Kind.BROKER, "石练机械来料加工厂", places["331123103"], "13905781003"),
    ]

    logins = [
        DemoLogin("admin", Role.ADMIN, "系统管理员 / administrator"),
        DemoLogin("firm", Role.FIRM_MEMBER, f"{firm.name} / Yiwu firm buyer"),
        DemoLogin("broker1", Role.BROKER_OWNER, f"{brokers[0].name} / general processing"),
        DemoLogin("teamhead1", Role.TEAM_HEAD, f"{brokers[0].name} / team head"),
        DemoLogin("broker2", Role.BROKER_OWNER, f"{brokers[1].name} / general processing"),
        DemoLogin("broker3", Role.BROKER_OWNER, f"{brokers[2].name} / machinery processing"),
        DemoLogin("auditor", Role.AUDITOR, f"{federation.name} / subsidy auditor"),
    ]
    _user("admin", Role.ADMIN, "管理员", is_staff=True, is_superuser=True)
    _user("firm", Role.FIRM_MEMBER, "陈经理", firm)
    _user("broker1", Role.BROKER_OWNER, "周建明", brokers[0], phone="13905781001")
    _user("teamhead1", Role.TEAM_HEAD, "吴组长", brokers[0])
    _user("broker2", Role.BROKER_OWNER, "叶巧云", brokers[1], phone="13905781002")
    _user("broker3", Role.BROKER_OWNER, "毛志强", brokers[2], phone="13905781003")
    _user("auditor", Role.AUDITOR, "郑审核", federation)

    tag_pool = [t.value for t in HouseholdTag]
    for index in range(60):
        rng = random.Random(2009 * 1000 + index)  # per worker, so reruns draw the same person
        village = places[VILLAGE_CODES[index // 20]]
        broker = brokers[index // 20]
        born = date(1958 + rng.randrange(40), 1 + rng.randrange(12), 1 + rng.randrange(28))
        nid = national_id("331123", born, 100 + 2 * index)
        worker = Worker.objects.filter(national_id=nid).first()
        if worker is None:
            tags = sorted(set(rng.sample(tag_pool, rng.choice([0, 1, 1, 2]))))
            if born.year < 1966 and HouseholdTag.ELDERLY not in tags:
                tags.append(HouseholdTag.ELDERLY.value)
            worker = Worker.objects.create(
                name=SURNAMES[index % len(SURNAMES)] + GIVEN[(index * 7) % len(GIVEN)],
                phone=f"1390578{2000 + index:04d}",
                national_id=nid,
                village=village,
                work_mode=[WorkMode.FACTORY, WorkMode.CENTRE, WorkMode.HOME][rng.randrange(3)],
                household_tags=sorted(tags),
            )
        Membership.objects.get_or_create(broker=broker, worker=worker, ended_on=None,
                                         defaults={"started_on": joined_on(timezone.localdate())})
        if index % 20 == 0:  # one worker per village logs in with her phone
            user = _user(f"worker{index // 20 + 1}", Role.WORKER, worker.name, phone=worker.phone)
            if worker.user_id is None:
                worker.user = user
                worker.save(update_fields=["user"])
            logins.append(DemoLogin(user.username, Role.WORKER, f"{worker.name}, {village.name} / phone {worker.phone}"))
    build_orders_demo()  # the marketplace: the firm's orders in every state
    build_piecework_demo()  # bundles, rates, two months of piece logs, attendance, a dispute
    build_payments_demo()  # firm payments, last month's payroll closed and paid, this month's previewed
    build_subsidies_demo()  # last year's wages, loans, villages; claims of Suichang's 2009 policy
    return logins

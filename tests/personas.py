"""Named personas for permission tests: every endpoint is checked against all of them.

Two counties: Suichang (home) and Longquan (other). The broker and the rival broker are both
in Suichang; the rival's worker lives in Longquan so each auditor has someone to see."""
from __future__ import annotations

from dataclasses import dataclass

from accounts.models import Organisation, Role, User
from brokers.models import Worker

from .factories import MembershipFactory, OrganisationFactory, UserFactory, WorkerFactory, jurisdiction_chain


@dataclass
class Personas:
    firm: User
    broker: User
    team_head: User
    rival_broker: User
    worker: User
    other_worker: User
    auditor: User
    other_auditor: User
    admin: User
    firm_org: Organisation
    broker_org: Organisation
    rival_org: Organisation
    federation_org: Organisation
    other_federation_org: Organisation
    worker_record: Worker
    other_worker_record: Worker
    home: dict
    away: dict

    def users(self) -> dict[str, User | None]:
        names = ["firm", "broker", "team_head", "rival_broker", "worker", "other_worker", "auditor",
                 "other_auditor", "admin"]
        return {name: getattr(self, name) for name in names} | {"anonymous": None}


def build_personas() -> Personas:
    home = jurisdiction_chain("遂昌县")
    away = jurisdiction_chain("龙泉市")
    yiwu = jurisdiction_chain("义乌市")

    firm_org = OrganisationFactory(kind=Organisation.Kind.FIRM, name="义乌测试饰品公司", jurisdiction=yiwu["county"])
    broker_org = OrganisationFactory(kind=Organisation.Kind.BROKER, name="建明服装厂", jurisdiction=home["township"])
    rival_org = OrganisationFactory(kind=Organisation.Kind.BROKER, name="对手加工点", jurisdiction=home["township"])
    federation_org = OrganisationFactory(kind=Organisation.Kind.FEDERATION, name="遂昌县妇联", jurisdiction=home["county"])
    other_federation_org = OrganisationFactory(
        kind=Organisation.Kind.FEDERATION, name="龙泉市妇联", jurisdiction=away["county"]
    )

    worker_user = UserFactory(username="worker", role=Role.WORKER, phone="13800000001")
    other_worker_user = UserFactory(username="other_worker", role=Role.WORKER, phone="13800000002")
    worker_record = WorkerFactory(name="王秀英", village=home["village"], user=worker_user)
    other_worker_record = WorkerFactory(name="李桂兰", village=away["village"], user=other_worker_user)
    MembershipFactory(broker=broker_org, worker=worker_record)
    MembershipFactory(broker=rival_org, worker=other_worker_record)

    return Personas(
        firm=UserFactory(username="firm", role=Role.FIRM_MEMBER, organisation=firm_org),
        broker=UserFactory(username="broker", role=Role.BROKER_OWNER, organisation=broker_org),
        team_head=UserFactory(username="team_head", role=Role.TEAM_HEAD, organisation=broker_org),
        rival_broker=UserFactory(username="rival_broker", role=Role.BROKER_OWNER, organisation=rival_org),
        worker=worker_user,
        other_worker=other_worker_user,
        auditor=UserFactory(username="auditor", role=Role.AUDITOR, organisation=federation_org),
        other_auditor=UserFactory(username="other_auditor", role=Role.AUDITOR, organisation=other_federation_org),
        admin=UserFactory(username="admin", role=Role.ADMIN, is_staff=True, is_superuser=True),
        firm_org=firm_org,
        broker_org=broker_org,
        rival_org=rival_org,
        federation_org=federation_org,
        other_federation_org=other_federation_org,
        worker_record=worker_record,
        other_worker_record=other_worker_record,
        home=home,
        away=away,
    )

"""Live events of the marketplace over /ws/events/: the order board for brokers, and the
notifications of bids, awards, inspections and subcontracts, each only to whom it concerns.

Every socket logs in with a real session cookie (`connect_as`). Each check reads what arrives
until the socket has been quiet for a moment, so "exactly these events" and "nothing" are both
asserted, not just "this one arrived". Services are the real ones, called with sync_to_async;
their events go out on commit."""
from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction
from django.utils import timezone

from accounts.models import Organisation, Role
from core.errors import NotFound, ValidationFailed
from orders import services
from orders.models import Award, Bid, Order, Subcontract
from orders.tasks import close_due_bidding

from ..core.test_realtime import connect_as
from ..factories import OrganisationFactory, UserFactory
from . import builders

pytestmark = pytest.mark.django_db(transaction=True)

# What a broker may see of an order on the board: the public summary, nothing about bids.
SUMMARY_KEYS = {"id", "product", "category", "quantity", "unit", "status", "bid_deadline", "due_date",
                "ceiling_unit_price", "modes"}
SETTLE = 0.5  # seconds of quiet after which a socket is taken to have heard everything


class Socket:
    """One logged-in /ws/events/ connection."""

    def __init__(self, name: str, comm) -> None:
        self.name = name
        self.comm = comm

    async def _read_all(self, *, want: int = 0, timeout: float = 5.0) -> list[dict]:
        """Wait (up to `timeout`) for at least `want` events, then keep reading until quiet.
        Polls with receive_nothing: a timed-out receive would cancel the consumer."""
        got: list[dict] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while len(got) < want and asyncio.get_running_loop().time() < deadline:
            if not await self.comm.receive_nothing(timeout=0.05, interval=0.01):
                got.append(await self.comm.receive_json_from(timeout=1))
        while not await self.comm.receive_nothing(timeout=SETTLE, interval=0.01):
            got.append(await self.comm.receive_json_from(timeout=1))
        return got

    async def hears(self, *types: str) -> dict[str, list[dict]]:
        """Exactly these events (any order) and nothing else; returns the payloads by type."""
        got = await self._read_all(want=len(types))
        assert sorted(e["type"] for e in got) == sorted(types), f"{self.name} heard {got}"
        for event in got:
            assert set(event) == {"id", "type", "at", "payload"}, event
        by_type: dict[str, list[dict]] = {}
        for event in got:
            by_type.setdefault(event["type"], []).append(event["payload"])
        return by_type

    async def hears_one(self, event_type: str) -> dict:
        return (await self.hears(event_type))[event_type][0]

    async def hears_nothing(self) -> None:
        got = await self._read_all()
        assert got == [], f"{self.name} should hear nothing, heard {got}"


@pytest.fixture
async def listen():
    """`await listen(name=user, ...)` → Sockets, connected and past their hello."""
    opened: list[Socket] = []

    async def open_(**users) -> dict[str, Socket]:
        sockets = {}
        for name, user in users.items():
            comm = await connect_as(user)
            connected, _ = await comm.connect()
            assert connected, name
            hello = await comm.receive_json_from(timeout=2)
            assert hello["type"] == "hello"
            sockets[name] = Socket(name, comm)
            opened.append(sockets[name])
        return sockets

    yield open_
    for socket in opened:
        await socket.comm.disconnect()


@pytest.fixture
def third_broker(personas):
    """A third broker owner in the home county, so a bid's rivals are more than one."""
    org = OrganisationFactory(kind=Organisation.Kind.BROKER, name="第三加工点", jurisdiction=personas.home["township"])
    return UserFactory(username="third_broker", role=Role.BROKER_OWNER, organisation=org)


async def quiet(*sockets: Socket) -> None:
    await asyncio.gather(*(s.hears_nothing() for s in sockets))


def run(fn, *args, **kwargs):
    return sync_to_async(fn)(*args, **kwargs)


def assert_summary(payload: dict, order: Order, *, status: str, **expected) -> None:
    """The board payload is the public summary of the order and nothing more."""
    assert set(payload) == SUMMARY_KEYS, payload
    assert payload["id"] == order.pk
    assert payload["status"] == status
    values = {
        "product": "串珠手链 beaded bracelet", "category": "bead_work", "quantity": 1000, "unit": "件",
        "ceiling_unit_price": "2.5000", "modes": ["home", "centre"],
        "due_date": order.due_date.isoformat(),
    } | expected
    for key, value in values.items():
        assert payload[key] == value, (key, payload)
    assert dt.datetime.fromisoformat(payload["bid_deadline"]) == order.bid_deadline


# --- the order board -----------------------------------------------------------------------


async def test_publish_reaches_every_broker_on_the_board_and_no_worker_or_auditor(personas, listen):
    s = await listen(broker=personas.broker, team_head=personas.team_head, rival=personas.rival_broker,
                     worker=personas.worker, auditor=personas.auditor)
    draft = await run(builders.draft, personas.firm)
    await quiet(*s.values())  # creating a draft tells nobody

    order = await run(services.order_publish, actor=personas.firm, order_id=draft.pk)

    for name in ("broker", "team_head", "rival"):
        payload = await s[name].hears_one("order.published")
        assert_summary(payload, order, status="published")
        assert not {"firm", "created_by", "bids", "count", "bid_count", "materials"} & set(payload)
    await quiet(s["worker"], s["auditor"])


async def test_draft_edits_and_draft_cancel_send_nothing(personas, listen):
    s = await listen(broker=personas.broker, rival=personas.rival_broker, firm=personas.firm,
                     worker=personas.worker, auditor=personas.auditor)
    draft = await run(builders.draft, personas.firm)

    await run(services.order_update, actor=personas.firm, order_id=draft.pk,
              data={"product": "珍珠刺绣 pearl embroidery", "quantity": 500,
                    "ceiling_unit_price": Decimal("3.0000")})
    await quiet(*s.values())

    await run(services.order_cancel, actor=personas.firm, order_id=draft.pk, reason="不做了")
    await quiet(*s.values())
    assert (await run(Order.objects.get, pk=draft.pk)).status == Order.Status.CANCELLED


async def test_edit_of_a_published_order_updates_the_board(personas, listen):
    order = await run(builders.published, personas.firm)
    s = await listen(broker=personas.broker, rival=personas.rival_broker,
                     worker=personas.worker, auditor=personas.auditor)

    updated = await run(services.order_update, actor=personas.firm, order_id=order.pk,
                        data={"product": "珍珠刺绣 pearl embroidery", "quantity": 800})

    for name in ("broker", "rival"):
        payload = await s[name].hears_one("order.updated")
        assert_summary(payload, updated, status="published", product="珍珠刺绣 pearl embroidery", quantity=800)
    await quiet(s["worker"], s["auditor"])

    # an edit that changes nothing is no event
    await run(services.order_update, actor=personas.firm, order_id=order.pk, data={"quantity": 800})
    await quiet(*s.values())


async def test_closing_bidding_by_the_service(personas, listen):
    order = await run(builders.published, personas.firm)
    await run(builders.bid, personas.broker, order)
    await run(builders.pass_deadline, order)
    s = await listen(broker=personas.broker, rival=personas.rival_broker, firm=personas.firm,
                     worker=personas.worker, auditor=personas.auditor)

    assert await run(services.order_close_bidding, order_id=order.pk) is True
    closed = await run(Order.objects.get, pk=order.pk)

    heard = await s["broker"].hears("order.closed", "order.bidding_closed")  # the board, and as a bidder
    assert_summary(heard["order.closed"][0], closed, status="bidding_closed")
    assert heard["order.bidding_closed"] == [{"order": order.pk}]
    assert_summary(await s["rival"].hears_one("order.closed"), closed, status="bidding_closed")
    assert await s["firm"].hears_one("order.bidding_closed") == {"order": order.pk, "bids": 1}
    await quiet(s["worker"], s["auditor"])

    # closing again does nothing and says nothing
    assert await run(services.order_close_bidding, order_id=order.pk) is False
    await quiet(*s.values())


async def test_closing_bidding_by_the_beat_task(personas, listen):
    due = await run(builders.published, personas.firm)
    future = await run(builders.published, personas.firm)
    await run(builders.pass_deadline, due)
    s = await listen(broker=personas.broker, team_head=personas.team_head, firm=personas.firm,
                     worker=personas.worker, auditor=personas.auditor)

    result = await run(close_due_bidding.apply)
    assert result.get() == 1
    closed = await run(Order.objects.get, pk=due.pk)

    for name in ("broker", "team_head"):
        assert_summary(await s[name].hears_one("order.closed"), closed, status="bidding_closed")
    assert await s["firm"].hears_one("order.bidding_closed") == {"order": due.pk, "bids": 0}
    await quiet(s["worker"], s["auditor"])
    assert (await run(Order.objects.get, pk=future.pk)).status == Order.Status.PUBLISHED

    assert (await run(close_due_bidding.apply)).get() == 0
    await quiet(*s.values())


async def test_cancelling_a_published_order(personas, listen, third_broker):
    order = await run(builders.published, personas.firm)
    await run(builders.bid, personas.broker, order)
    s = await listen(broker=personas.broker, rival=personas.rival_broker,
                     worker=personas.worker, auditor=personas.auditor)

    await run(services.order_cancel, actor=personas.firm, order_id=order.pk, reason="客户取消了订单")
    cancelled = await run(Order.objects.get, pk=order.pk)

    # the bidder hears it on the board and as a bidder (with the reason)
    heard = await s["broker"].hears("order.cancelled", "order.cancelled")
    board = [p for p in heard["order.cancelled"] if "id" in p]
    direct = [p for p in heard["order.cancelled"] if "id" not in p]
    assert len(board) == 1 and len(direct) == 1, heard
    assert_summary(board[0], cancelled, status="cancelled")
    assert direct[0] == {"order": order.pk, "reason": "客户取消了订单"}
    # a broker that did not bid sees it leave the board
    assert_summary(await s["rival"].hears_one("order.cancelled"), cancelled, status="cancelled")
    await quiet(s["worker"], s["auditor"])


# --- sealed bids ---------------------------------------------------------------------------


async def test_the_firm_hears_only_the_bid_count(personas, listen, third_broker):
    order = await run(builders.published, personas.firm)
    s = await listen(firm=personas.firm, broker=personas.broker, rival=personas.rival_broker,
                     third=third_broker, worker=personas.worker, auditor=personas.auditor)

    mine = await run(builders.bid, personas.broker, order, unit_price="1.3700", quantity=600)
    count = await s["firm"].hears_one("order.bid_count")
    assert count == {"order": order.pk, "count": 1}
    assert not {"unit_price", "price", "broker", "quantity", "bid"} & set(count)
    await quiet(s["rival"], s["third"], s["worker"], s["auditor"])

    theirs = await run(builders.bid, personas.rival_broker, order, unit_price="1.9900", quantity=1000)
    assert await s["firm"].hears_one("order.bid_count") == {"order": order.pk, "count": 2}
    await quiet(s["broker"], s["third"], s["worker"], s["auditor"])

    # a revision changes no count and tells no rival anything
    await run(services.bid_revise, actor=personas.broker, bid_id=mine.pk, unit_price=Decimal("1.4100"))
    await quiet(s["rival"], s["third"], s["worker"], s["auditor"])

    await run(services.bid_withdraw, actor=personas.rival_broker, bid_id=theirs.pk)
    count = await s["firm"].hears_one("order.bid_count")
    assert count == {"order": order.pk, "count": 1}
    await quiet(s["broker"], s["third"], s["worker"], s["auditor"])


async def test_terms_edit_asks_each_bidder_to_reconfirm(personas, listen, third_broker):
    order = await run(builders.published, personas.firm)
    mine = await run(builders.bid, personas.broker, order)
    theirs = await run(builders.bid, personas.rival_broker, order)
    s = await listen(broker=personas.broker, team_head=personas.team_head, rival=personas.rival_broker,
                     third=third_broker, firm=personas.firm, worker=personas.worker, auditor=personas.auditor)

    await run(services.order_update, actor=personas.firm, order_id=order.pk, data={"quantity": 800})

    for name in ("broker", "team_head", "rival"):  # the bidders' broker groups
        heard = await s[name].hears("bid.needs_reconfirm", "order.updated")
        assert heard["bid.needs_reconfirm"] == [{"order": order.pk, "fields": ["quantity"]}]
        assert heard["order.updated"][0]["quantity"] == 800
    # a broker that did not bid sees the new terms on the board, no more
    assert (await s["third"].hears_one("order.updated"))["quantity"] == 800
    await quiet(s["worker"], s["auditor"])
    for bid in (mine, theirs):
        assert (await run(Bid.objects.get, pk=bid.pk)).status == Bid.Status.NEEDS_RECONFIRM


async def test_a_plain_edit_or_a_withdrawn_bid_asks_no_reconfirmation(personas, listen, third_broker):
    order = await run(builders.published, personas.firm)
    mine = await run(builders.bid, personas.broker, order)
    gone = await run(builders.bid, third_broker, order)
    await run(services.bid_withdraw, actor=third_broker, bid_id=gone.pk)
    s = await listen(broker=personas.broker, third=third_broker)

    # the product name is not a term of the bid
    await run(services.order_update, actor=personas.firm, order_id=order.pk, data={"product": "钩针杯垫"})
    for name in ("broker", "third"):
        assert (await s[name].hears_one("order.updated"))["product"] == "钩针杯垫"
    assert (await run(Bid.objects.get, pk=mine.pk)).status == Bid.Status.ACTIVE

    # the ceiling is; the withdrawn bidder is not asked
    await run(services.order_update, actor=personas.firm, order_id=order.pk,
              data={"ceiling_unit_price": Decimal("2.2000")})
    heard = await s["broker"].hears("bid.needs_reconfirm", "order.updated")
    assert heard["bid.needs_reconfirm"] == [{"order": order.pk, "fields": ["ceiling_unit_price"]}]
    assert heard["order.updated"][0]["ceiling_unit_price"] == "2.2000"
    assert (await s["third"].hears_one("order.updated"))["ceiling_unit_price"] == "2.2000"


async def test_an_edit_form_sent_back_unchanged_is_no_event(personas, listen, third_broker):
    """Procedures and materials re-sent as they are change no terms: the bids stand, nobody hears."""
    order = await run(builders.published, personas.firm)
    mine = await run(builders.bid, personas.broker, order)
    s = await listen(broker=personas.broker, third=third_broker, firm=personas.firm)
    same = builders.order_data()

    await run(services.order_update, actor=personas.firm, order_id=order.pk,
              data={key: same[key] for key in ("product", "quantity", "ceiling_unit_price", "procedures", "materials")})
    await quiet(*s.values())
    assert (await run(Bid.objects.get, pk=mine.pk)).status == Bid.Status.ACTIVE

    # a material's value is a term: a real change asks the bidder again
    materials = [dict(same["materials"][0], unit_value=Decimal("0.0200")), same["materials"][1]]
    await run(services.order_update, actor=personas.firm, order_id=order.pk, data={"materials": materials})
    heard = await s["broker"].hears("bid.needs_reconfirm", "order.updated")
    assert heard["bid.needs_reconfirm"] == [{"order": order.pk, "fields": ["materials"]}]
    await s["third"].hears_one("order.updated")
    assert (await run(Bid.objects.get, pk=mine.pk)).status == Bid.Status.NEEDS_RECONFIRM


# --- awards, fulfilment, subcontracts ------------------------------------------------------


async def closed_with_bids(personas) -> tuple[Order, Bid, Bid]:
    order = await run(builders.published, personas.firm)
    mine = await run(builders.bid, personas.broker, order, unit_price="1.2345")
    theirs = await run(builders.bid, personas.rival_broker, order, unit_price="1.5000")
    await run(builders.pass_deadline, order)
    await run(services.order_close_bidding, order_id=order.pk)
    return order, mine, theirs


async def test_award_created_then_declined(personas, listen):
    order, mine, _ = await closed_with_bids(personas)
    s = await listen(broker=personas.broker, rival=personas.rival_broker, firm=personas.firm,
                     worker=personas.worker, auditor=personas.auditor)

    award = await run(services.award_create, actor=personas.firm, order_id=order.pk, bid_id=mine.pk, quantity=600)
    assert await s["broker"].hears_one("award.created") == {"order": order.pk, "award": award.pk, "quantity": 600}
    await quiet(s["rival"], s["worker"], s["auditor"])

    await run(services.award_decline, actor=personas.broker, award_id=award.pk, reason="旺季人手不够")
    assert await s["firm"].hears_one("award.declined") == {
        "order": order.pk, "award": award.pk, "reason": "旺季人手不够",
    }
    await quiet(s["rival"], s["worker"], s["auditor"])


async def test_award_that_closes_bidding_itself_tells_the_awardee(personas, listen):
    """No scheduler ran: the award closes bidding at request time and both events go out."""
    order = await run(builders.published, personas.firm)
    mine = await run(builders.bid, personas.broker, order)
    await run(builders.pass_deadline, order)
    s = await listen(broker=personas.broker, rival=personas.rival_broker, firm=personas.firm)

    award = await run(services.award_create, actor=personas.firm, order_id=order.pk, bid_id=mine.pk, quantity=1000)

    heard = await s["broker"].hears("order.closed", "order.bidding_closed", "award.created")
    assert heard["award.created"] == [{"order": order.pk, "award": award.pk, "quantity": 1000}]
    assert heard["order.closed"][0]["status"] == "bidding_closed"
    assert (await s["rival"].hears_one("order.closed"))["id"] == order.pk
    assert await s["firm"].hears_one("order.bidding_closed") == {"order": order.pk, "bids": 1}


async def test_a_refused_award_closes_nothing_and_says_nothing(personas, listen):
    """Past the deadline, unclosed: an award that is refused (too many pieces, or a stranger's
    request) leaves the order published and sends no close events."""
    order = await run(builders.published, personas.firm)
    mine = await run(builders.bid, personas.broker, order, quantity=600)
    await run(builders.pass_deadline, order)
    s = await listen(broker=personas.broker, rival=personas.rival_broker, firm=personas.firm)

    with pytest.raises(ValidationFailed):
        await run(services.award_create, actor=personas.firm, order_id=order.pk, bid_id=mine.pk, quantity=601)
    with pytest.raises(NotFound):
        await run(services.award_create, actor=personas.rival_broker, order_id=order.pk, bid_id=mine.pk,
                  quantity=600)
    await quiet(*s.values())
    assert (await run(Order.objects.get, pk=order.pk)).status == Order.Status.PUBLISHED


async def test_inspection_tells_the_broker_the_fee_due(personas, listen):
    order, mine, _ = await closed_with_bids(personas)
    award = await run(services.award_create, actor=personas.firm, order_id=order.pk, bid_id=mine.pk, quantity=1000)
    s = await listen(broker=personas.broker, rival=personas.rival_broker, firm=personas.firm,
                     worker=personas.worker, auditor=personas.auditor)

    delivery = await run(services.delivery_record, actor=personas.broker, award_id=award.pk, quantity=10)
    assert await s["firm"].hears_one("delivery.created") == {
        "order": order.pk, "award": award.pk, "delivery": delivery.pk, "quantity": 10,
    }

    await run(services.inspection_record, actor=personas.firm, delivery_id=delivery.pk, accepted=7, rejected=3,
              reason="珠子松脱")
    # 7 × 1.2345 = 8.6415 → 8.64 yuan
    assert await s["broker"].hears_one("inspection.recorded") == {
        "order": order.pk, "award": award.pk, "delivery": delivery.pk, "accepted": 7, "rejected": 3,
        "fee_due": "8.64",
    }
    await quiet(s["rival"], s["worker"], s["auditor"])


async def test_subcontract_proposed_and_accepted(personas, listen, third_broker):
    order, mine, _ = await closed_with_bids(personas)
    award = await run(services.award_create, actor=personas.firm, order_id=order.pk, bid_id=mine.pk, quantity=1000)
    s = await listen(broker=personas.broker, rival=personas.rival_broker, third=third_broker, firm=personas.firm,
                     worker=personas.worker, auditor=personas.auditor)

    sub = await run(services.subcontract_propose, actor=personas.broker, award_id=award.pk,
                    to_broker_id=personas.rival_org.pk, quantity=300, unit_price=Decimal("1.1000"))
    assert await s["rival"].hears_one("subcontract.proposed") == {
        "subcontract": sub.pk, "order": order.pk, "quantity": 300,
    }
    await quiet(s["third"], s["worker"], s["auditor"])

    await run(services.subcontract_accept, actor=personas.rival_broker, subcontract_id=sub.pk)
    accepted = await s["firm"].hears_one("subcontract.accepted")
    # the firm learns that part of the work moved, and to whom; not the brokers' price
    assert accepted == {"order": order.pk, "award": award.pk, "to_broker": personas.rival_org.pk, "quantity": 300}
    assert await s["broker"].hears_one("subcontract.accepted") == {"subcontract": sub.pk, "order": order.pk}
    await quiet(s["third"], s["worker"], s["auditor"])
    assert (await run(Subcontract.objects.get, pk=sub.pk)).status == Subcontract.Status.ACCEPTED


# --- only after commit ---------------------------------------------------------------------


class Boom(Exception):
    pass


def rolled_back(fn, **kwargs) -> None:
    """Call a service inside an outer transaction that then fails."""
    with pytest.raises(Boom):
        with transaction.atomic():
            fn(**kwargs)
            raise Boom()


async def test_events_go_out_only_after_commit(personas, listen):
    s = await listen(broker=personas.broker, rival=personas.rival_broker, firm=personas.firm)
    draft = await run(builders.draft, personas.firm)

    await run(rolled_back, services.order_publish, actor=personas.firm, order_id=draft.pk)
    await quiet(*s.values())
    assert (await run(Order.objects.get, pk=draft.pk)).status == Order.Status.DRAFT

    order = await run(services.order_publish, actor=personas.firm, order_id=draft.pk)  # for real: it is heard
    assert (await s["broker"].hears_one("order.published"))["id"] == order.pk
    assert (await s["rival"].hears_one("order.published"))["id"] == order.pk

    promised = timezone.localdate() + dt.timedelta(days=20)
    await run(rolled_back, services.bid_place, actor=personas.broker, order_id=order.pk,
              unit_price=Decimal("1.2000"), quantity=1000, promised_date=promised)
    await run(rolled_back, services.order_update, actor=personas.firm, order_id=order.pk, data={"quantity": 900})
    await quiet(*s.values())
    assert not await run(Bid.objects.filter(order=order).exists)

    mine = await run(builders.bid, personas.broker, order)
    assert await s["firm"].hears_one("order.bid_count") == {"order": order.pk, "count": 1}
    await run(builders.pass_deadline, order)

    # the award closes bidding in a transaction of its own, nested here in the outer one
    await run(rolled_back, services.award_create, actor=personas.firm, order_id=order.pk, bid_id=mine.pk,
              quantity=1000)
    await run(rolled_back, close_due_bidding.apply)
    await quiet(*s.values())
    assert (await run(Order.objects.get, pk=order.pk)).status == Order.Status.PUBLISHED
    assert not await run(Award.objects.filter(order=order).exists)

    await run(rolled_back, services.order_cancel, actor=personas.firm, order_id=order.pk, reason="误操作")
    await quiet(*s.values())

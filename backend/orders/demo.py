"""Demo orders of the Yiwu firm, one or more in every state, for `make run` and for trying the
marketplace by hand (docs/orders.md walks through them).

Everything goes through the real services, as a firm and the brokers would through the API. The
one raw write is moving a bid deadline into the past (`_pass_deadline`): time passing is not a
service. Idempotent: an order is found by its natural key (firm + product) before it is built,
and an order that exists is left alone, whatever state it has reached since.

Prices are believable and above the fair-rate floor at the default minimum wage (2,000 yuan a
month over 21.75 days × 8 hours: 0.19157 yuan a standard minute), e.g. a 5-minute bracelet has
a floor of 0.9579 yuan and is bid at 1.10-1.15."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable

from django.db import transaction
from django.utils import timezone

from accounts.models import Organisation, User

from . import services
from .models import Award, Bid, Order

D = Decimal
PLACE = "义乌市稠城街道宗泽东路恒亿饰品仓库"


@dataclass(frozen=True)
class Spec:
    product: str
    category: str
    description: str
    quantity: int
    unit: str
    modes: list[str]
    ceiling: str
    procedures: list[tuple[str, str]]  # (name, standard minutes per piece)
    materials: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    # (name, unit, quantity per piece, loss allowance %, unit value)
    deadline_days: int = 5
    due_days: int = 35

    def data(self) -> dict:
        now = timezone.now()
        return {
            "product": self.product, "category": self.category, "description": self.description,
            "quantity": self.quantity, "unit": self.unit, "modes": self.modes,
            "ceiling_unit_price": D(self.ceiling),
            "bid_deadline": now + dt.timedelta(days=self.deadline_days),
            "due_date": timezone.localdate() + dt.timedelta(days=self.due_days),
            "delivery_place": PLACE,
            "procedures": [{"name": n, "standard_minutes": D(m)} for n, m in self.procedures],
            "materials": [
                {"name": n, "unit": u, "quantity_per_piece": D(q), "loss_allowance_pct": D(pct), "unit_value": D(v)}
                for n, u, q, pct, v in self.materials
            ],
        }


@dataclass(frozen=True)
class Cast:
    firm: User
    broker1: User  # 遂昌建明服装厂, garments
    broker2: User  # 北界巧手来料加工中心, beads, crochet, knitting
    broker3: User  # 石练机械来料加工厂, machinery


# --- the orders ---------------------------------------------------------------------------------

DRAFT = Spec(
    product="珍珠刺绣手拿包", category="pearl_embroidery", quantity=500, unit="个", modes=["centre", "home"],
    description="缎面手拿包坯，按花样钉仿珍珠和亮片，一包约120颗珠。样品已寄北界加工中心。",
    ceiling="7.5000", deadline_days=7, due_days=45,
    procedures=[("描花样", "3.00"), ("钉珍珠", "16.00"), ("钉亮片", "6.00"), ("整烫检验", "2.00")],
    materials=[("仿珍珠 4mm", "颗", "120", "3", "0.0150"), ("缎面包坯", "个", "1", "0", "8.5000"),
               ("涤纶丝线", "米", "6", "5", "0.0200")],
)
OPEN = Spec(
    product="钩针镂空发圈", category="crochet", quantity=3000, unit="个", modes=["home", "centre"],
    description="牛奶棉线钩织镂空花边发圈，包橡皮筋圈，颜色按色卡配比。",
    ceiling="2.8000", deadline_days=5, due_days=30,
    procedures=[("钩织", "9.00"), ("缝合收口", "2.00")],
    materials=[("牛奶棉线", "克", "18", "3", "0.0600"), ("橡皮筋圈", "个", "1", "2", "0.0500")],
)
CLOSED = Spec(
    product="马海毛手工针织围巾", category="knitting", quantity=800, unit="条", modes=["home", "centre"],
    description="马海毛混纺线手工棒针编织，长180厘米，两端缝流苏，挂吊牌。",
    ceiling="32.0000", deadline_days=3, due_days=40,
    procedures=[("手工编织", "120.00"), ("缝流苏", "10.00"), ("整烫挂牌", "5.00")],
    materials=[("马海毛混纺线", "克", "180", "3", "0.1200"), ("吊牌", "个", "1", "0", "0.0500")],
)
AWARDED = Spec(
    product="水晶串珠手链", category="bead_work", quantity=5000, unit="条", modes=["home", "centre", "factory"],
    description="8mm仿水晶珠穿弹力线，每条24颗珠加2片合金隔片，打结后藏结。",
    ceiling="1.3000", deadline_days=3, due_days=30,
    procedures=[("穿珠", "4.00"), ("打结收尾", "1.00")],
    materials=[("仿水晶珠 8mm", "颗", "24", "2", "0.0200"), ("弹力线", "米", "0.25", "5", "0.2000"),
               ("合金隔片", "片", "2", "2", "0.0300")],
)
SEWING = Spec(
    product="雪纺女式衬衫缝制", category="garment_sewing", quantity=1200, unit="件", modes=["factory"],
    description="来裁片加工，S-XL四个码，流水线缝制，钉扣锁眼，剪线头整烫后折叠入袋。",
    ceiling="4.8000", deadline_days=3, due_days=30,
    procedures=[("合肩缝", "1.50"), ("上领", "4.00"), ("上袖", "3.50"), ("缝侧缝", "2.00"), ("卷底边", "2.50"),
                ("钉扣锁眼", "3.00"), ("剪线头整烫", "2.50")],
    materials=[("雪纺裁片", "套", "1", "1", "3.2000"), ("涤纶缝纫线", "米", "85", "5", "0.0020"),
               ("树脂纽扣", "颗", "7", "3", "0.0500")],
)
COMPLETED = Spec(
    product="手工珍珠发夹", category="bead_work", quantity=2000, unit="个", modes=["home", "centre"],
    description="金属发夹坯上粘9颗仿珍珠，铜丝绕线加固。",
    ceiling="1.0000", deadline_days=3, due_days=25,
    procedures=[("粘珠", "2.50"), ("绕线固定", "1.50")],
    materials=[("仿珍珠 6mm", "颗", "9", "3", "0.0150"), ("金属发夹坯", "个", "1", "1", "0.3500"),
               ("铜丝", "米", "0.4", "5", "0.0800")],
)
CANCELLED = Spec(
    product="手工编织毛线帽", category="knitting", quantity=1000, unit="顶", modes=["home"],
    description="腈纶毛线棒针编织，顶部缝毛球。",
    ceiling="9.5000", deadline_days=6, due_days=40,
    procedures=[("手工编织", "38.00"), ("缝毛球", "3.00")],
    materials=[("腈纶毛线", "克", "90", "3", "0.0500"), ("仿貂毛球", "个", "1", "1", "0.6000")],
)
WELDING = Spec(
    product="铁艺首饰展示架焊接", category="machinery", quantity=600, unit="个", modes=["factory"],
    description="4mm铁丝下料校直，点焊成三层耳环展示架，打磨焊点，与底座组装后装箱，喷塑由我司负责。",
    ceiling="4.5000", deadline_days=3, due_days=30,
    procedures=[("下料校直", "3.00"), ("点焊成型", "8.00"), ("打磨焊点", "4.00"), ("质检装箱", "2.00")],
    materials=[("4mm铁丝", "千克", "0.8", "3", "5.2000"), ("展示架底座", "个", "1", "1", "2.6000")],
)


# --- steps ------------------------------------------------------------------------------------

def _post(cast: Cast, spec: Spec) -> Order:
    return services.order_create(actor=cast.firm, data=spec.data())


def _published(cast: Cast, spec: Spec) -> Order:
    order = _post(cast, spec)
    return services.order_publish(actor=cast.firm, order_id=order.pk)


def _bid(broker: User, order: Order, price: str, quantity: int, days: int, note: str = "") -> Bid:
    return services.bid_place(actor=broker, order_id=order.pk, unit_price=D(price), quantity=quantity,
                              promised_date=timezone.localdate() + dt.timedelta(days=days), note=note)


def _pass_deadline(order: Order, days_ago: int) -> None:
    """Time passing: the one raw write (as tests/orders/builders.py does)."""
    Order.objects.filter(pk=order.pk).update(bid_deadline=timezone.now() - dt.timedelta(days=days_ago))


def _award(cast: Cast, order: Order, bid: Bid, quantity: int) -> Award:
    return services.award_create(actor=cast.firm, order_id=order.pk, bid_id=bid.pk, quantity=quantity)


def _materials(order: Order) -> dict[str, int]:
    return dict(order.materials.values_list("name", "pk"))


def _dispatch_and_receive(cast: Cast, broker: User, award: Award, sent: dict[str, str],
                          received: dict[str, str] | None = None, note: str = "") -> None:
    ids = _materials(award.order)
    dispatch = services.dispatch_send(
        actor=cast.firm, award_id=award.pk, note=note,
        lines=[{"material": ids[name], "quantity": D(q)} for name, q in sent.items()],
    )
    services.dispatch_receive(
        actor=broker, dispatch_id=dispatch.pk,
        lines=[{"material": ids[name], "quantity": D(q)} for name, q in (received or {}).items()] or None,
    )


def _deliver(broker: User, award: Award, quantity: int, note: str = ""):
    return services.delivery_record(actor=broker, award_id=award.pk, quantity=quantity, note=note)


def _inspect(cast: Cast, delivery, accepted: int, rejected: int = 0, reason: str = "") -> None:
    services.inspection_record(actor=cast.firm, delivery_id=delivery.pk, accepted=accepted, rejected=rejected,
                               reason=reason)


# --- one builder per demo order ---------------------------------------------------------------------

def build_draft(cast: Cast) -> Order:
    """Still a draft: only the firm sees it."""
    return _post(cast, DRAFT)


def build_open(cast: Cast) -> Order:
    """On the board. Two sealed bids, then the firm adds 1,000 pieces: both bids go to
    'needs re-confirmation' and 北界 re-confirms; 建明's still waits."""
    order = _published(cast, OPEN)
    _bid(cast.broker1, order, "2.6000", 1500, 28, "厂里钩针熟手二十人，可分批交货。")
    second = _bid(cast.broker2, order, "2.5000", 3000, 26, "加工中心钩针班组，可全部承接。")
    order = services.order_update(actor=cast.firm, order_id=order.pk, data={"quantity": 4000})
    services.bid_reconfirm(actor=cast.broker2, bid_id=second.pk)
    return order


def build_closed(cast: Cast) -> Order:
    """Deadline passed and closed by the scheduler's service: the firm now sees both bids with
    the brokers' track records, and can award."""
    order = _published(cast, CLOSED)
    _bid(cast.broker1, order, "29.5000", 400, 35, "可承接一半，家庭编织户为主。")
    _bid(cast.broker2, order, "28.0000", 800, 38, "苏村编织能手多，可全部承接。")
    _pass_deadline(order, days_ago=1)
    services.order_close_bidding(order_id=order.pk)  # what the beat job does
    order.refresh_from_db()
    return order


def build_awarded(cast: Cast) -> Order:
    """Split award by quantity: 2,000 to 北界 at 1.10, 3,000 to 建明 at 1.15; no material yet."""
    order = _published(cast, AWARDED)
    one = _bid(cast.broker1, order, "1.1500", 3000, 25, "大柘村串珠户三十余人。")
    two = _bid(cast.broker2, order, "1.1000", 2000, 22)
    _pass_deadline(order, days_ago=2)
    _award(cast, order, two, 2000)
    _award(cast, order, one, 3000)
    order.refresh_from_db()
    return order


def build_sewing(cast: Cast) -> Order:
    """In production at 建明服装厂: materials sent and received (52 buttons short), 300 blouses
    subcontracted to 北界 for the busy season, a first delivery of 400 inspected with 12 sent back
    for rework, and the reworked 12 delivered again, awaiting inspection."""
    order = _published(cast, SEWING)
    mine = _bid(cast.broker1, order, "4.5000", 1200, 25, "流水线两条，25天内交齐。")
    _bid(cast.broker2, order, "4.3000", 500, 28)
    _pass_deadline(order, days_ago=6)
    award = _award(cast, order, mine, 1200)
    _dispatch_and_receive(
        cast, cast.broker1, award,
        sent={"雪纺裁片": "1212", "涤纶缝纫线": "107100", "树脂纽扣": "8652"},
        received={"树脂纽扣": "8600"}, note="第一批裁片及辅料，物流单号 YW20260301",
    )
    sub = services.subcontract_propose(
        actor=cast.broker1, award_id=award.pk, to_broker_id=cast.broker2.organisation_id, quantity=300,
        unit_price=D("4.0000"), note="旺季赶工，请北界加工中心支援300件，裁片由我厂转送。",
    )
    services.subcontract_accept(actor=cast.broker2, subcontract_id=sub.pk)
    first = _deliver(cast.broker1, award, 400, "第一批400件")
    _inspect(cast, first, 388, 12, "领口不平、线头未剪净，退回返工。")
    _deliver(cast.broker1, award, 12, "返工12件")
    order.refresh_from_db()
    return order


def build_welding(cast: Cast) -> Order:
    """In production at 石练机械: steel wire and bases received, 200 stands accepted, 150 more
    delivered and waiting for the firm's inspection."""
    order = _published(cast, WELDING)
    bid = _bid(cast.broker3, order, "4.2000", 600, 24, "点焊机四台，焊工持证上岗。")
    _pass_deadline(order, days_ago=5)
    award = _award(cast, order, bid, 600)
    _dispatch_and_receive(cast, cast.broker3, award, sent={"4mm铁丝": "500", "展示架底座": "606"})
    _inspect(cast, _deliver(cast.broker3, award, 200, "第一批200个"), 200)
    _deliver(cast.broker3, award, 150, "第二批150个")
    order.refresh_from_db()
    return order


def build_completed(cast: Cast) -> Order:
    """Completed and reconciled at 北界: 20 clips reworked, all 2,000 accepted; 20 pearls and
    15 clip blanks returned. Pearls: 18,600 received − 18,000 consumed − 20 returned = 580 lost,
    allowance 3% of 18,000 = 540, so 40 excess × 0.015 = 0.60 yuan charged."""
    order = _published(cast, COMPLETED)
    bid = _bid(cast.broker2, order, "0.9200", 2000, 20, "苏村家庭加工户五十余人。")
    _pass_deadline(order, days_ago=12)
    award = _award(cast, order, bid, 2000)
    _dispatch_and_receive(cast, cast.broker2, award, sent={"仿珍珠 6mm": "18600", "金属发夹坯": "2020", "铜丝": "840"})
    _inspect(cast, _deliver(cast.broker2, award, 1200, "第一批"), 1180, 20, "珍珠脱落，返工重粘。")
    _inspect(cast, _deliver(cast.broker2, award, 820, "第二批（含返工20个）"), 820)
    ids = _materials(order)
    services.material_return(actor=cast.broker2, award_id=award.pk, material_id=ids["仿珍珠 6mm"], quantity=D("20"))
    services.material_return(actor=cast.broker2, award_id=award.pk, material_id=ids["金属发夹坯"], quantity=D("15"))
    services.award_complete(actor=cast.firm, award_id=award.pk)
    order.refresh_from_db()
    return order


def build_cancelled(cast: Cast) -> Order:
    """Published, one bid, then cancelled by the firm; the bidder was notified."""
    order = _published(cast, CANCELLED)
    _bid(cast.broker2, order, "8.6000", 1000, 30)
    return services.order_cancel(actor=cast.firm, order_id=order.pk, reason="外贸客户取消了本季订单。")


BUILDERS: list[tuple[Spec, Callable[[Cast], Order]]] = [
    (DRAFT, build_draft),
    (OPEN, build_open),
    (CLOSED, build_closed),
    (AWARDED, build_awarded),
    (SEWING, build_sewing),
    (WELDING, build_welding),
    (COMPLETED, build_completed),
    (CANCELLED, build_cancelled),
]


@transaction.atomic
def build_orders_demo() -> list[Order]:
    """Build (or find) the demo orders; needs the demo accounts from `core.demo.build_demo`."""
    users = {u.username: u for u in User.objects.filter(username__in=["firm", "broker1", "broker2", "broker3"])}
    cast = Cast(firm=users["firm"], broker1=users["broker1"], broker2=users["broker2"], broker3=users["broker3"])
    firm: Organisation = cast.firm.organisation
    orders = []
    for spec, build in BUILDERS:
        order = Order.objects.filter(firm=firm, product=spec.product).first()
        orders.append(order if order is not None else build(cast))
    return orders

"""The subsidy rules' arithmetic, pure: Decimals and dataclasses, no database, no Django.

Owns the kinds of rule, the specification of each kind's parameters (type, unit, default and the
sentence of the 2009 Suichang document each comes from), their validation, Suichang's 2009 values
(`SUICHANG_2009`) and one evaluation function per kind. An evaluation returns an `Outcome`: the
amount (rounded once, by `core.money.round_amount`), a case for staff to decide, or not eligible
with the reason; the arithmetic as structured steps; and one sentence in zh-CN and en. What the
inputs are (which payslips, invoices, loans) is the evaluation service's business, not this
module's: it takes figures. docs/subsidies.md is the reader's version of this module."""
from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from core.money import AMOUNT_DIGITS, AMOUNT_PLACES, round_amount

DOCUMENT = ("Notice on the Issuance of Policies to Promote the Development of Agricultural Industrialization "
            "in Suichang County (2009)")

# --- kinds and parameter types ---------------------------------------------------------------

BROKER_REWARD_GENERAL = "broker_reward_general"
BROKER_REWARD_MACHINERY = "broker_reward_machinery"
LOAN_INTEREST = "loan_interest"
FREIGHT = "freight"
RELOCATION = "relocation"
NEW_PROFESSIONAL_VILLAGE = "new_professional_village"
TOP_VILLAGES = "top_villages"

MONEY = "money"  # yuan, Decimal, at most 2 places, never negative
COUNT = "count"  # int, never negative
RATIO = "ratio"  # Decimal in the spec's unit (‰ per month, %), never negative
CHOICE = "choice"  # one of the spec's choices
BOOLEAN = "boolean"
TYPES = (MONEY, COUNT, RATIO, CHOICE, BOOLEAN)
RATIO_PLACES = 4
MONEY_LIMIT = Decimal(10) ** (AMOUNT_DIGITS - AMOUNT_PLACES)  # what an amount column holds (10^12 yuan)

# Comparison readings of "more than": the document's 超过 is read strictly.
STRICTLY_GREATER = "strictly_greater"
AT_LEAST = "at_least"


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter of a rule kind. `source` is the sentence of the document (as seed 002 quotes
    it) that the value comes from; `reading`, for a sentence the document leaves open, says which
    reading the default is (DESIGN.md "Subsidy policy")."""

    name: str
    type: str
    unit: str
    default: Any
    source: str
    reading: str = ""
    choices: tuple[str, ...] = ()
    minimum: Decimal | None = None
    maximum: Decimal | None = None


class ParameterError(ValueError):
    """Bad parameters: `fields` maps every bad field's name to its message (English, for logs and
    tests), `codes` to a stable code the API can translate (the API's 400)."""

    def __init__(self, fields: Mapping[str, str], codes: Mapping[str, str] | None = None):
        self.fields = dict(fields)
        self.codes = dict(codes or {})
        super().__init__("; ".join(f"{name}: {message}" for name, message in self.fields.items()))


class _Bad(ValueError):
    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


# --- the document's sentences (seed 002 quotes the 2009 notice in English) --------------------

_S_GENERAL_1 = ("the brokers who issue more than 200,000 yuan of annual processing fee and have more than 100 "
                "processing workers shall be awarded 2000 yuan")
_S_GENERAL_2 = ("the brokers who issue more than 500,000 yuan of annual processing fee and have more than 300 "
                "processing workers shall be awarded 5,000 yuan")
_S_GENERAL_3 = ("the brokers who issue more than one million yuan of annual processing fee and have more than 500 "
                "processing workers shall be awarded 10,000 yuan")
_S_GENERAL_CASE = ("The special incentive policy of “one strategy for one event” is implemented for the project "
                   "with processing fee of more than two million yuan.")
_S_MACHINERY_1 = ("For the brokers engaged in machinery processing who issue processing fee of more than 500,000 "
                  "yuan per year and have more than 40 processing workers, the government issues reward of 2000 yuan")
_S_MACHINERY_2 = ("those who issue processing fee of more than one million yuan per year and have more than 80 "
                  "processing workers are awarded 5000 yuan")
_S_MACHINERY_3 = ("those who issue processing fee of more than 1.5 million yuan per year and have more than 120 "
                  "processing workers are awarded 10,000 yuan")
_S_MACHINERY_CASE = ("those who issue processing fee of more than 3 million yuan per year also enjoy the policy of "
                     "“one strategy for one event”")
_S_LOAN = ("Provide interest payment of 5‰ monthly for loans of 20,000 – 100,000 yuan of the brokers and processing "
           "enterprises with an annual processing fee of more than 200,000 yuan")
_S_FREIGHT = "provide 1% of additional processing fee as freight subsidies of processing enterprises"
_S_RELOCATION = ("issue 3000 yuan of one-time subsidy for each processing enterprise supporting industrial "
                 "agglomeration and relocated to the county industrial park or township industrial zones")
_S_RELOCATION_LARGE = ("issue 5000 yuan of one-time subsidy for each relocated processing enterprise with processing "
                       "fee of more than 2 million yuan")
_S_NEW_VILLAGE = ("give subsidy of 30,000 yuan to each of the villages that newly grew into professional processing "
                  "villages")
_S_TOP_VILLAGES = ("award the Top Three professional villages in the county with the best processing indexes every "
                   "year 10,000 yuan, 5000 yuan and 3000 yuan respectively")

# --- the readings (DESIGN.md) ------------------------------------------------------------------

_R_ISSUED = "“issued processing fee” (发放) is what the broker paid out to workers: wages paid in the calendar year"
_R_WORKERS = ("“processing workers” are distinct workers paid in the year at least this much, so that ghost "
              "workers cannot lift a tier; default one month of the county's default minimum wage (2,000 yuan)")
_R_TIERS = "tiers are exclusive: the highest tier met only"
_R_STRICT = "“more than” is strictly greater"
_R_CASE = "above the top line the amount is a case decision entered by staff, whatever the worker count"
_R_LOAN_YEAR = ("“annual processing fee of more than 200,000”: the previous calendar year's wages issued (a monthly "
                "claim cannot wait for the year to end)")
_R_LOAN_CAP = "a loan above 100,000: the first 100,000 is subsidised"
_R_LOAN_RANGE = "“loans of 20,000 – 100,000 yuan”: a range, both ends included"
_R_LOAN_MONTH = ("the month's interest is pro rata by the days the loan is outstanding in it, counting the start "
                 "day and not the repayment day (算头不算尾, as banks count interest days)")
_R_FREIGHT = "“additional processing fee” (新增): the year-over-year increase of processing-fee income, never negative"
_R_RELOCATION_YEAR = "“processing fee of more than 2 million”: the last full calendar year before the move"
_R_VILLAGE_CRITERIA = ("the seed gives no criteria: a village is professional from the status record (meets the "
                       "criteria, or designated by staff with evidence); the award is paid once per village")
_R_INDEX = "the seed gives no index: wages issued to the village's workers in the year"
_R_TIE = "equal index: more workers paid first, then the lower village id"
_S_AUDIT = "not in the document: an audit setting of the risk flags (they inform the reviewer, never block a claim)"
_R_FLAG_MINIMUM = "a worker counted but paid less than the counting threshold × (1 + this %) in the year is flagged"
_R_FLAG_SHARE = ("… when removing those workers lowers the reward, or when they are more than this % of the workers "
                 "counted")
_R_FLAG_TIER_WAGES = "wages issued within this % above the awarded tier's wage line (or the case line) are flagged"
_R_FLAG_TIER_WORKERS = "workers counted at most this many above the awarded tier's worker line are flagged"
_R_FLAG_SPIKE = "December's wages issued above this many times the January–November monthly average are flagged"


def _money(name, default, source, reading="", **kw) -> ParameterSpec:
    return ParameterSpec(name, MONEY, "CNY", Decimal(default), source, reading, **kw)


def _count(name, default, source, reading="", **kw) -> ParameterSpec:
    return ParameterSpec(name, COUNT, "workers", default, source, reading, **kw)


def _choice(name, choices, source, reading) -> ParameterSpec:
    return ParameterSpec(name, CHOICE, "", choices[0], source, reading, choices=tuple(choices))


def _reward_specs(tiers, case_over, tier_sources, case_source) -> list[ParameterSpec]:
    specs = []
    for n, ((wages, workers, amount), source) in enumerate(zip(tiers, tier_sources), start=1):
        specs += [_money(f"tier_{n}_wages_over", wages, source, _R_ISSUED),
                  _count(f"tier_{n}_workers_over", workers, source),
                  _money(f"tier_{n}_amount", amount, source)]
    return specs + [
        _money("case_wages_over", case_over, case_source, _R_CASE),
        _money("worker_minimum_paid", "2000", tier_sources[0], _R_WORKERS),
        _choice("wages_basis", ("wages_paid_in_calendar_year", "processing_fee_income"), tier_sources[0], _R_ISSUED),
        _choice("tier_rule", ("highest_only", "cumulative"), tier_sources[0], _R_TIERS),
        _choice("comparison", (STRICTLY_GREATER, AT_LEAST), tier_sources[0], _R_STRICT),
        ParameterSpec("flag_minimum_margin", RATIO, "%", Decimal("5"), _S_AUDIT, _R_FLAG_MINIMUM, maximum=Decimal(100)),
        ParameterSpec("flag_minimum_share", RATIO, "%", Decimal("10"), _S_AUDIT, _R_FLAG_SHARE, maximum=Decimal(100)),
        ParameterSpec("flag_tier_wages_margin", RATIO, "%", Decimal("2"), _S_AUDIT, _R_FLAG_TIER_WAGES,
                      maximum=Decimal(100)),
        _count("flag_tier_workers_margin", 5, _S_AUDIT, _R_FLAG_TIER_WORKERS),
        ParameterSpec("flag_spike_factor", RATIO, "×", Decimal("2"), _S_AUDIT, _R_FLAG_SPIKE),
    ]


SPECS: dict[str, list[ParameterSpec]] = {
    BROKER_REWARD_GENERAL: _reward_specs(
        [("200000", 100, "2000"), ("500000", 300, "5000"), ("1000000", 500, "10000")], "2000000",
        [_S_GENERAL_1, _S_GENERAL_2, _S_GENERAL_3], _S_GENERAL_CASE),
    BROKER_REWARD_MACHINERY: _reward_specs(
        [("500000", 40, "2000"), ("1000000", 80, "5000"), ("1500000", 120, "10000")], "3000000",
        [_S_MACHINERY_1, _S_MACHINERY_2, _S_MACHINERY_3], _S_MACHINERY_CASE),
    LOAN_INTEREST: [
        _money("eligible_wages_over", "200000", _S_LOAN, _R_ISSUED),
        _choice("eligibility_year", ("previous_calendar_year", "trailing_twelve_months"), _S_LOAN, _R_LOAN_YEAR),
        _money("principal_min", "20000", _S_LOAN, _R_LOAN_RANGE),
        _money("principal_max", "100000", _S_LOAN, _R_LOAN_RANGE),
        _choice("above_max", ("first_max", "exclude"), _S_LOAN, _R_LOAN_CAP),
        ParameterSpec("monthly_rate", RATIO, "‰ per month", Decimal("5"), _S_LOAN, maximum=Decimal(1000)),
        _choice("month_basis", ("pro_rata_days", "outstanding_on_last_day"), _S_LOAN, _R_LOAN_MONTH),
        _choice("comparison", (STRICTLY_GREATER, AT_LEAST), _S_LOAN, _R_STRICT),
    ],
    FREIGHT: [
        ParameterSpec("rate", RATIO, "%", Decimal("1"), _S_FREIGHT, maximum=Decimal(100)),
        _choice("base", ("year_over_year_increase", "whole_income"), _S_FREIGHT, _R_FREIGHT),
    ],
    RELOCATION: [
        _money("amount", "3000", _S_RELOCATION),
        _money("large_amount", "5000", _S_RELOCATION_LARGE),
        _money("large_fee_over", "2000000", _S_RELOCATION_LARGE),
        _choice("fee_year", ("last_full_calendar_year_before_move", "trailing_twelve_months_before_move"),
                _S_RELOCATION_LARGE, _R_RELOCATION_YEAR),
        _choice("comparison", (STRICTLY_GREATER, AT_LEAST), _S_RELOCATION_LARGE, _R_STRICT),
    ],
    NEW_PROFESSIONAL_VILLAGE: [
        _money("amount", "30000", _S_NEW_VILLAGE),
        _choice("criteria", ("status_record",), _S_NEW_VILLAGE, _R_VILLAGE_CRITERIA),
    ],
    TOP_VILLAGES: [
        _money("first_amount", "10000", _S_TOP_VILLAGES),
        _money("second_amount", "5000", _S_TOP_VILLAGES),
        _money("third_amount", "3000", _S_TOP_VILLAGES),
        _choice("index", ("wages_to_village_workers", "processing_fee_income", "workers_paid"), _S_TOP_VILLAGES,
                _R_INDEX),
        _choice("tie_break", ("more_workers_then_lower_id", "lower_id"), _S_TOP_VILLAGES, _R_TIE),
    ],
}
RULE_KINDS: tuple[str, ...] = tuple(SPECS)

# Suichang's 2009 policy: every kind's parameters at their defaults.
SUICHANG_2009: dict[str, dict[str, Any]] = {kind: {s.name: s.default for s in specs} for kind, specs in SPECS.items()}


def spec_of(kind: str, name: str) -> ParameterSpec:
    return next(s for s in SPECS[kind] if s.name == name)


# --- validation --------------------------------------------------------------------------------

def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or isinstance(value, float):
        raise _Bad("float", "must be a decimal number written as text or an integer, not a float")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        if "e" in value.lower():  # "1e3" would be stored as "1E+3": a parameter is written out in full
            raise _Bad("not_a_number", "must be a number written out in full, without an exponent")
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise _Bad("not_a_number", "must be a number") from None
    else:
        raise _Bad("not_a_number", "must be a number")
    if not number.is_finite():
        raise _Bad("not_a_number", "must be a finite number")
    return number


def _typed(spec: ParameterSpec, value: Any) -> Any:
    if spec.type in (MONEY, RATIO):
        number = _decimal(value)
        places = AMOUNT_PLACES if spec.type == MONEY else RATIO_PLACES
        if abs(number) >= MONEY_LIMIT:
            raise _Bad("too_large", f"must be less than {MONEY_LIMIT:,}")
        if number != number.quantize(Decimal(1).scaleb(-places)):
            raise _Bad("too_precise", f"at most {places} decimal places")
        if number < 0:
            raise _Bad("negative", "must not be negative")
        typed: Any = number
    elif spec.type == COUNT:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise _Bad("not_whole", "must be a whole number")
        if isinstance(value, str):
            if not (value.strip().isascii() and value.strip().isdigit()):
                raise _Bad("not_whole", "must be a whole number")
            value = int(value.strip())
        if value < 0:
            raise _Bad("negative", "must not be negative")
        typed = value
    elif spec.type == CHOICE:
        if value not in spec.choices:
            raise _Bad("unknown_choice", "must be one of: " + ", ".join(spec.choices))
        typed = value
    else:  # BOOLEAN
        if not isinstance(value, bool):
            raise _Bad("not_boolean", "must be true or false")
        typed = value
    if spec.minimum is not None and typed < spec.minimum:
        raise _Bad("below_minimum", f"must be at least {spec.minimum}")
    if spec.maximum is not None and typed > spec.maximum:
        raise _Bad("above_maximum", f"must be at most {spec.maximum}")
    return typed


def validate_parameters(kind: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter of `kind`, typed: the given values over the kind's defaults. Raises one
    `ParameterError` naming every bad field at once (unknown names, wrong types, negatives,
    unknown choices, tiers that do not rise)."""
    if kind not in SPECS:
        raise ParameterError({"kind": "unknown rule kind: must be one of " + ", ".join(RULE_KINDS)},
                             {"kind": "unknown_kind"})
    specs = {s.name: s for s in SPECS[kind]}
    errors: dict[str, str] = {}
    codes: dict[str, str] = {}
    typed = {name: spec.default for name, spec in specs.items()}
    for name, value in values.items():
        spec = specs.get(name)
        if spec is None:
            errors[name], codes[name] = "unknown parameter", "unknown_parameter"
            continue
        try:
            typed[name] = _typed(spec, value)
        except _Bad as exc:
            errors[name], codes[name] = str(exc), exc.code
    if kind in (BROKER_REWARD_GENERAL, BROKER_REWARD_MACHINERY):
        for n in (2, 3):
            for what in ("wages_over", "workers_over"):
                name = f"tier_{n}_{what}"
                if name not in errors and f"tier_{n - 1}_{what}" not in errors \
                        and typed[name] <= typed[f"tier_{n - 1}_{what}"]:
                    errors[name], codes[name] = f"must be more than tier {n - 1}'s", "tiers_must_rise"
        if "case_wages_over" not in errors and "tier_3_wages_over" not in errors \
                and typed["case_wages_over"] <= typed["tier_3_wages_over"]:
            errors["case_wages_over"], codes["case_wages_over"] = "must be more than tier 3's", "tiers_must_rise"
    if kind == LOAN_INTEREST and not {"principal_min", "principal_max"} & errors.keys() \
            and typed["principal_max"] < typed["principal_min"]:
        errors["principal_max"], codes["principal_max"] = "must not be less than principal_min", "range_reversed"
    if errors:
        raise ParameterError(errors, codes)
    return typed


# --- outcomes ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    """One line of the arithmetic: `result` = `operator` applied to `operands` (e.g. ">",
    (Decimal("523400.00"), Decimal("500000")), True). `label` is a stable key for the display."""

    label: str
    operator: str
    operands: tuple[Any, ...]
    result: Any


@dataclass(frozen=True)
class Outcome:
    """What a rule gives: `amount` to the fen (0.00 when not eligible, None for a case, whose
    amount staff enter); `reason` a stable key when not eligible or for a case."""

    kind: str
    eligible: bool
    amount: Decimal | None
    steps: tuple[Step, ...]
    sentence: dict[str, str]
    case: bool = False
    reason: str = ""


ZERO = round_amount(Decimal(0))


def _figure(value: Decimal) -> str:
    """A measured or computed sum of money: always to the fen, with thousands separators."""
    return f"{round_amount(value):,.2f}"


def _param(value: Decimal | int) -> str:
    """A threshold or amount as the document writes it: no fen when whole (500,000; 5,000)."""
    value = Decimal(value)
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value.normalize():,f}"


def _sentence(zh: str, en: str) -> dict[str, str]:
    return {"zh-CN": zh, "en": en}


def _compare(value, threshold, comparison: str) -> tuple[bool, str, str]:
    """(met, the operator when met, the operator when not)."""
    if comparison == AT_LEAST:
        return value >= threshold, "≥", "<"
    return value > threshold, ">", "≤"


# --- broker reward tiers (general and machinery) ----------------------------------------------

@dataclass(frozen=True)
class BrokerYear:
    """A broker's year: wages issued (paid out in the calendar year) and the workers counted
    (distinct workers paid at least `worker_minimum_paid`, see `workers_counted`)."""

    wages_issued: Decimal
    workers_counted: int


def workers_counted(paid_by_worker: Mapping[Any, Decimal], *, minimum_paid: Decimal) -> int:
    """How many distinct workers count for a tier: those paid at least `minimum_paid` in the year."""
    return sum(1 for paid in paid_by_worker.values() if Decimal(paid) >= minimum_paid)


def broker_reward(kind: str, year: BrokerYear, params: Mapping[str, Any] | None = None) -> Outcome:
    """Both conditions, per the comparison reading (strictly greater by default); the highest tier
    met only (or the sum of the tiers met, under `tier_rule=cumulative`); above the case line a
    case for staff whatever the worker count."""
    if kind not in (BROKER_REWARD_GENERAL, BROKER_REWARD_MACHINERY):
        raise ParameterError({"kind": "not a broker reward kind"}, {"kind": "unknown_kind"})
    p = validate_parameters(kind, params or {})
    wages, workers = Decimal(year.wages_issued), int(year.workers_counted)
    W_zh, W_en = f"工资发放 {_figure(wages)} 元", f"wages issued {_figure(wages)} yuan"
    N_zh, N_en = f"加工人员 {workers} 人", f"{workers} workers"
    steps: list[Step] = []
    case, yes, no = _compare(wages, p["case_wages_over"], p["comparison"])
    steps.append(Step("wages_over_case_line", yes if case else no, (wages, p["case_wages_over"]), case))
    if case:
        line = _param(p["case_wages_over"])
        return Outcome(kind, True, None, tuple(steps), _sentence(
            f"{W_zh} {yes} {line} → 一事一议，金额由工作人员核定",
            f"{W_en} {yes} {line} → one strategy for one event: amount set by staff"), case=True, reason="case")
    met: list[int] = []
    tests = {}
    for n in (1, 2, 3):
        w_ok, w_yes, w_no = _compare(wages, p[f"tier_{n}_wages_over"], p["comparison"])
        n_ok, n_yes, n_no = _compare(workers, p[f"tier_{n}_workers_over"], p["comparison"])
        steps.append(Step(f"tier_{n}_wages", w_yes if w_ok else w_no, (wages, p[f"tier_{n}_wages_over"]), w_ok))
        steps.append(Step(f"tier_{n}_workers", n_yes if n_ok else n_no, (workers, p[f"tier_{n}_workers_over"]), n_ok))
        steps.append(Step(f"tier_{n}_met", "and", (w_ok, n_ok), w_ok and n_ok))
        tests[n] = (w_ok, w_yes if w_ok else w_no, n_ok, n_yes if n_ok else n_no)
        if w_ok and n_ok:
            met.append(n)
    if not met:
        w_ok, w_op, _n_ok, n_op = tests[1]
        t_w, t_n = _param(p["tier_1_wages_over"]), _param(p["tier_1_workers_over"])
        if not w_ok:
            zh, en = f"{W_zh} {w_op} {t_w} → 不予奖励", f"{W_en} {w_op} {t_w} → no reward"
        else:
            zh = f"{W_zh} {w_op} {t_w} 但 {N_zh} {n_op} {t_n} → 不予奖励"
            en = f"{W_en} {w_op} {t_w} but {N_en} {n_op} {t_n} → no reward"
        return Outcome(kind, False, ZERO, tuple(steps), _sentence(zh, en), reason="no_tier_met")
    top = met[-1]
    awarded = met if p["tier_rule"] == "cumulative" else [top]
    amounts = [p[f"tier_{n}_amount"] for n in awarded]
    amount = round_amount(sum(amounts, Decimal(0)))
    steps.append(Step("amount", "+" if len(awarded) > 1 else "=", tuple(amounts), amount))
    _w_ok, w_op, _n_ok, n_op = tests[top]
    t_w, t_n = _param(p[f"tier_{top}_wages_over"]), _param(p[f"tier_{top}_workers_over"])
    result = _param(amount) if len(amounts) == 1 else " + ".join(map(_param, amounts)) + f" = {_param(amount)}"
    return Outcome(kind, True, amount, tuple(steps), _sentence(
        f"{W_zh} {w_op} {t_w} 且 {N_zh} {n_op} {t_n} → {result} 元",
        f"{W_en} {w_op} {t_w} and {N_en} {n_op} {t_n} → {result} yuan"))


# --- loan interest -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Loan:
    """A registered loan: outstanding from `start` (included) until `end`, the repayment day
    (not included); `end=None` while not repaid."""

    principal: Decimal
    start: date
    end: date | None = None


def days_outstanding(loan: Loan, month: date) -> tuple[int, int]:
    """(days the loan is outstanding in `month`, days in the month): the start day counts, the
    repayment day does not (算头不算尾)."""
    first = month.replace(day=1)
    length = calendar.monthrange(first.year, first.month)[1]
    after = date.fromordinal(first.toordinal() + length)  # the first day of the next month
    begin = max(loan.start, first)
    stop = min(loan.end, after) if loan.end is not None else after
    return max((stop - begin).days, 0), length


def loan_interest(loan: Loan, month: date, wages_issued: Decimal, params: Mapping[str, Any] | None = None) -> Outcome:
    """One month's interest subsidy of one loan: eligible when the broker's wages issued (of the
    year the `eligibility_year` reading names) pass the line and the principal is in the range;
    monthly rate × eligible principal, pro rata by the days outstanding (or the whole month when
    outstanding on its last day, under `month_basis=outstanding_on_last_day`); rounded once."""
    p = validate_parameters(LOAN_INTEREST, params or {})
    wages, principal = Decimal(wages_issued), Decimal(loan.principal)
    kind, steps = LOAN_INTEREST, []
    W_zh, W_en = f"工资发放 {_figure(wages)} 元", f"wages issued {_figure(wages)} yuan"
    P_zh, P_en = f"贷款本金 {_figure(principal)} 元", f"principal {_figure(principal)} yuan"
    ok, yes, no = _compare(wages, p["eligible_wages_over"], p["comparison"])
    line = _param(p["eligible_wages_over"])
    steps.append(Step("wages_over_line", yes if ok else no, (wages, p["eligible_wages_over"]), ok))
    if not ok:
        return Outcome(kind, False, ZERO, tuple(steps), _sentence(
            f"{W_zh} {no} {line} → 不予贴息", f"{W_en} {no} {line} → no interest subsidy"), reason="wages_too_low")
    low, high = p["principal_min"], p["principal_max"]
    steps.append(Step("principal_at_least_min", "≥", (principal, low), principal >= low))
    if principal < low:
        return Outcome(kind, False, ZERO, tuple(steps), _sentence(
            f"{P_zh} < {_param(low)} → 不予贴息", f"{P_en} < {_param(low)} → no interest subsidy"),
            reason="principal_below_min")
    steps.append(Step("principal_above_max", ">", (principal, high), principal > high))
    if principal > high and p["above_max"] == "exclude":
        return Outcome(kind, False, ZERO, tuple(steps), _sentence(
            f"{P_zh} > {_param(high)} → 不予贴息", f"{P_en} > {_param(high)} → no interest subsidy"),
            reason="principal_above_max")
    eligible = min(principal, high)
    steps.append(Step("eligible_principal", "min", (principal, high), eligible))
    days, length = days_outstanding(loan, month)
    rate = p["monthly_rate"]
    if p["month_basis"] == "outstanding_on_last_day":
        last = month.replace(day=length)
        counted = loan.start <= last and (loan.end is None or loan.end > last)
        steps.append(Step("outstanding_on_last_day", "outstanding_on", (loan.start, loan.end, last), counted))
        exact = eligible * rate / Decimal(1000) if counted else Decimal(0)
        steps.append(Step("interest", "principal × rate‰", (eligible, rate), exact))
        fraction_zh = fraction_en = ""
    else:
        steps.append(Step("days_outstanding", "days_from_start_to_repayment", (loan.start, loan.end, month), days))
        steps.append(Step("days_in_month", "days_in", (month,), length))
        # one division, at the end: the exact figure an auditor gets by hand, before the one rounding
        exact = eligible * rate * days / (Decimal(1000) * length)
        steps.append(Step("interest", "principal × rate‰ × days / days_in_month", (eligible, rate, days, length),
                          exact))
        fraction_zh, fraction_en = f" × {days}/{length} 天", f" × {days}/{length} days"
    if exact == 0:
        return Outcome(kind, False, ZERO, tuple(steps), _sentence(
            f"{month:%Y-%m} 贷款未发生 → 不予贴息", f"loan not outstanding in {month:%Y-%m} → no interest subsidy"),
            reason="not_outstanding")
    amount = round_amount(exact)
    steps.append(Step("amount", "round", (exact,), amount))
    return Outcome(kind, True, amount, tuple(steps), _sentence(
        f"{W_zh} {yes} {line}，{P_zh}，贴息本金 {_figure(eligible)} 元 × {_param(rate)}‰{fraction_zh} → "
        f"{_figure(amount)} 元",
        f"{W_en} {yes} {line}, {P_en}, eligible principal {_figure(eligible)} yuan × {_param(rate)}‰{fraction_en} → "
        f"{_figure(amount)} yuan"))


# --- freight -----------------------------------------------------------------------------------

def freight(income_this_year: Decimal, income_last_year: Decimal, params: Mapping[str, Any] | None = None) -> Outcome:
    """Rate × the additional processing fee: the year-over-year increase of processing-fee income
    (never below nothing), or the whole income under `base=whole_income`."""
    p = validate_parameters(FREIGHT, params or {})
    this, last, rate = Decimal(income_this_year), Decimal(income_last_year), p["rate"]
    I_zh, I_en = f"加工费收入 {_figure(this)} 元", f"processing-fee income {_figure(this)} yuan"
    steps = []
    if p["base"] == "whole_income":
        base = max(this, Decimal(0))
        steps.append(Step("base", "=", (this,), base))
        B_zh, B_en = I_zh, I_en
    else:
        increase = this - last
        base = max(increase, Decimal(0))
        steps.append(Step("increase", "−", (this, last), increase))
        steps.append(Step("base", "max", (increase, Decimal(0)), base))
        B_zh = f"{I_zh} − 上年 {_figure(last)} 元 = 新增 {_figure(base)} 元"
        B_en = f"{I_en} − last year {_figure(last)} yuan = additional {_figure(base)} yuan"
        if base == 0:
            return Outcome(FREIGHT, False, ZERO, tuple(steps), _sentence(
                f"{I_zh} − 上年 {_figure(last)} 元 ≤ 0 → 无新增加工费，不予补贴",
                f"{I_en} − last year {_figure(last)} yuan ≤ 0 → no additional fee, no subsidy"),
                reason="no_additional_fee")
    exact = base * rate / Decimal(100)
    amount = round_amount(exact)
    steps.append(Step("subsidy", "×", (base, rate / Decimal(100)), exact))
    steps.append(Step("amount", "round", (exact,), amount))
    if amount == 0:
        return Outcome(FREIGHT, False, ZERO, tuple(steps), _sentence(
            f"{B_zh} × {_param(rate)}% → 0.00 元，不予补贴", f"{B_en} × {_param(rate)}% → 0.00 yuan, no subsidy"),
            reason="nothing_due")
    return Outcome(FREIGHT, True, amount, tuple(steps), _sentence(
        f"{B_zh} × {_param(rate)}% → {_figure(amount)} 元", f"{B_en} × {_param(rate)}% → {_figure(amount)} yuan"))


# --- relocation --------------------------------------------------------------------------------

def relocation(processing_fee: Decimal, *, already_granted: bool = False,
               params: Mapping[str, Any] | None = None) -> Outcome:
    """The one-time relocation subsidy: `large_amount` when the processing fee (of the year the
    `fee_year` reading names) passes `large_fee_over`, else `amount`; nothing if one was ever
    granted to the enterprise."""
    p = validate_parameters(RELOCATION, params or {})
    fee = Decimal(processing_fee)
    F_zh = f"迁入工业园区，加工费 {_figure(fee)} 元"
    F_en = f"relocated into an industrial zone, processing fee {_figure(fee)} yuan"
    steps = [Step("already_granted", "=", (already_granted,), already_granted)]
    if already_granted:
        return Outcome(RELOCATION, False, ZERO, tuple(steps), _sentence(
            "该企业已享受过迁入补贴 → 不再补贴", "this enterprise has had the relocation subsidy → not again"),
            reason="already_granted")
    large, yes, no = _compare(fee, p["large_fee_over"], p["comparison"])
    steps.append(Step("fee_over_line", yes if large else no, (fee, p["large_fee_over"]), large))
    amount = round_amount(p["large_amount"] if large else p["amount"])
    steps.append(Step("amount", "=", (amount,), amount))
    op, line = (yes if large else no), _param(p["large_fee_over"])
    return Outcome(RELOCATION, True, amount, tuple(steps), _sentence(
        f"{F_zh} {op} {line} → {_param(amount)} 元", f"{F_en} {op} {line} → {_param(amount)} yuan"))


# --- new professional village ------------------------------------------------------------------

def new_professional_village(*, became_professional: bool, already_awarded: bool = False,
                             params: Mapping[str, Any] | None = None) -> Outcome:
    """30,000 once: to a village whose status record first makes it professional in the period."""
    p = validate_parameters(NEW_PROFESSIONAL_VILLAGE, params or {})
    steps = [Step("became_professional", "=", (became_professional,), became_professional),
             Step("already_awarded", "=", (already_awarded,), already_awarded)]
    if already_awarded:
        return Outcome(NEW_PROFESSIONAL_VILLAGE, False, ZERO, tuple(steps), _sentence(
            "该村已获新专业村奖励 → 不再奖励", "this village has had the new-professional-village award → not again"),
            reason="already_awarded")
    if not became_professional:
        return Outcome(NEW_PROFESSIONAL_VILLAGE, False, ZERO, tuple(steps), _sentence(
            "本期未新成为专业加工村 → 不予奖励", "not newly a professional processing village → no award"),
            reason="not_newly_professional")
    amount = round_amount(p["amount"])
    steps.append(Step("amount", "=", (amount,), amount))
    return Outcome(NEW_PROFESSIONAL_VILLAGE, True, amount, tuple(steps), _sentence(
        f"新成为专业加工村 → {_param(amount)} 元", f"newly a professional processing village → {_param(amount)} yuan"))


# --- top three villages ------------------------------------------------------------------------

@dataclass(frozen=True)
class VillageIndex:
    """A professional village's year: its processing index (per the `index` reading) and the
    workers paid, the first tie-breaker."""

    village_id: int
    index: Decimal
    workers: int = 0


@dataclass(frozen=True)
class VillageAward:
    village_id: int
    rank: int
    outcome: Outcome
    ranking: tuple[int, ...] = field(default=())  # every village id in rank order, frozen into the claim


_INDEX_NAMES = {"wages_to_village_workers": ("村民工资发放", "wages to village workers"),
                "processing_fee_income": ("加工费收入", "processing-fee income"),
                "workers_paid": ("加工人员", "workers paid")}


def top_villages(villages: Iterable[VillageIndex], params: Mapping[str, Any] | None = None) -> list[VillageAward]:
    """Rank the professional villages by index, highest first; an equal index is broken by more
    workers, then the lower village id (or the lower id only, under `tie_break=lower_id`), so the
    ranking is total and the same on every run. The first three with an index above zero get the
    three amounts; a village with a zero index gets nothing, so fewer than three may be awarded."""
    p = validate_parameters(TOP_VILLAGES, params or {})
    rows = [VillageIndex(v.village_id, Decimal(v.index), int(v.workers)) for v in villages]
    if p["tie_break"] == "lower_id":
        rows.sort(key=lambda v: (-v.index, v.village_id))
    else:
        rows.sort(key=lambda v: (-v.index, -v.workers, v.village_id))
    ranking = tuple(v.village_id for v in rows)
    amounts = (p["first_amount"], p["second_amount"], p["third_amount"])
    name_zh, name_en = _INDEX_NAMES[p["index"]]
    money_index = p["index"] != "workers_paid"
    awards = []
    for rank, (village, amount) in enumerate(zip(rows, amounts), start=1):
        if village.index <= 0:
            break
        shown = _figure(village.index) if money_index else _param(village.index)
        unit_zh, unit_en = (" 元", " yuan") if money_index else (" 人", "")
        tie_zh = tie_en = ""
        neighbours = [v for v in rows if v.index == village.index and v.village_id != village.village_id]
        if neighbours:
            if p["tie_break"] == "lower_id":
                tie_zh, tie_en = "（指数相同，按村编号较小排前）", " (equal index: lower village id first)"
            else:
                tie_zh = "（指数相同，按加工人员较多、再按村编号较小排前）"
                tie_en = " (equal index: more workers first, then lower village id)"
        amount = round_amount(amount)
        steps = (Step("rank", "rank", (village.index, village.workers, village.village_id), rank),
                 Step("amount", "=", (amount,), amount))
        outcome = Outcome(TOP_VILLAGES, True, amount, steps, _sentence(
            f"加工指数（{name_zh}）{shown}{unit_zh}，全县第 {rank} 名{tie_zh} → {_param(amount)} 元",
            f"processing index ({name_en}) {shown}{unit_en}, rank {rank} in the county{tie_en} → "
            f"{_param(amount)} yuan"))
        awards.append(VillageAward(village.village_id, rank, outcome, ranking))
    return awards

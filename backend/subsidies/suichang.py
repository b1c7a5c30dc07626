"""Suichang County's 2009 policy as data: what migration 0002 loads and `load` re-creates
(tests that flush the database call it again). Every threshold and amount is
`rules.SUICHANG_2009`, each parameter stored with its unit, the document's sentence and, for an
open sentence, the reading its default takes (DESIGN.md, "Subsidy policy")."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from . import rules

CODE = "suichang-2009"
COUNTY = ("331123", "遂昌县", "Suichang")
PARENTS = [("330000", "浙江省", "Zhejiang", "province"), ("331100", "丽水市", "Lishui", "city")]
TITLE = "遂昌县促进农业产业化发展政策（2009年）"
TITLE_EN = rules.DOCUMENT
ISSUING_BODY = "遂昌县人民政府"
# the seed quotes the notice without its document number; this names where the text comes from
DOCUMENT_REFERENCE = "seed 002, “Guaranteed by a strict system” (the notice is quoted without its number)"
EFFECTIVE_FROM = date(2009, 1, 1)
# The seed gives no fund size: a default for staff to set per year (docs/subsidies.md).
ANNUAL_BUDGET = Decimal("2000000.00")
SECOND_APPROVAL_OVER = Decimal("5000.00")


def stored_parameters(kind: str, values: dict | None = None) -> dict:
    """{name: {"value", "unit", "source", "reading"}} for a kind, the values as text."""
    typed = rules.validate_parameters(kind, values or {})
    return {spec.name: {"value": str(typed[spec.name]) if not isinstance(typed[spec.name], (bool, str))
                        else typed[spec.name],
                        "unit": spec.unit, "source": spec.source, "reading": spec.reading}
            for spec in rules.SPECS[kind]}


def load(apps=None, *, county=None, code: str = CODE, fund_owner=None):
    """Create the policy, its version 1 (active from 2009) and one rule per kind, unless a policy
    with `code` exists. `apps` is a migration's registry; without it, the current models. By
    default the policy is Suichang's (331123, created with its parents if missing); tests and the
    demo pass the `county` (and the federation office `fund_owner`) they built."""
    if apps is None:
        from django.apps import apps as registry
        apps = registry
    Jurisdiction = apps.get_model("accounts", "Jurisdiction")
    Policy = apps.get_model("subsidies", "Policy")
    PolicyVersion = apps.get_model("subsidies", "PolicyVersion")
    Rule = apps.get_model("subsidies", "Rule")
    existing = Policy.objects.filter(code=code).first()
    if existing is not None:
        return existing
    if county is not None:
        return _create(Policy, PolicyVersion, Rule, county, code, fund_owner)
    parent = None
    for node_code, name, name_en, level in PARENTS:
        node = Jurisdiction.objects.filter(code=node_code).first()
        if node is None:
            node = Jurisdiction.objects.create(code=node_code, name=name, name_en=name_en, level=level, parent=parent)
        parent = node
    county = Jurisdiction.objects.filter(code=COUNTY[0]).first()
    if county is None:
        county = Jurisdiction.objects.create(code=COUNTY[0], name=COUNTY[1], name_en=COUNTY[2], level="county",
                                             parent=parent)
    if county.county_id != county.pk:  # the historical model has no save() that sets it
        Jurisdiction.objects.filter(pk=county.pk).update(county=county.pk)
    return _create(Policy, PolicyVersion, Rule, county, code, fund_owner)


def _create(Policy, PolicyVersion, Rule, county, code, fund_owner):
    policy = Policy.objects.create(jurisdiction_id=county.pk, code=code, title=TITLE, title_en=TITLE_EN,
                                   issuing_body=ISSUING_BODY, document_reference=DOCUMENT_REFERENCE,
                                   fund_owner_id=getattr(fund_owner, "pk", None))
    version = PolicyVersion.objects.create(policy=policy, number=1, status="active", effective_from=EFFECTIVE_FROM,
                                           annual_budget=ANNUAL_BUDGET, second_approval_over=SECOND_APPROVAL_OVER,
                                           note="As quoted in seed 002; open readings at their documented defaults.")
    for kind in rules.RULE_KINDS:
        Rule.objects.create(version=version, kind=kind, parameters=stored_parameters(kind))
    return policy

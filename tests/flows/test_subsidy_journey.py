"""Issue 11's "done when", as the county's auditors walk it through the API on the demo: log in,
find Suichang's 2009 policy, evaluate the demo year, read why a claim is what it is down to the
records behind it, approve it with a second approver, see the budget move, and export."""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from rest_framework.test import APIClient

from payments import figures
from subsidies.models import Evaluation
from subsidies.services.evaluation import run_evaluation

pytestmark = pytest.mark.django_db
D = Decimal
INSTANT = dt.datetime(2026, 11, 18, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # the demo year is 2025
API = "/api/subsidies"


def login(username: str) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="zh-hans")
    answer = client.post("/api/auth/token/", {"username": username, "password": settings.DEMO_PASSWORD,
                                              "device": "journey"}, format="json")
    assert answer.status_code == 200, answer.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {answer.json()['token']}")
    return client


def test_an_auditor_evaluates_reads_approves_with_a_second_approver_sees_the_budget_and_exports():
    with time_machine.travel(INSTANT, tick=False):
        call_command("seed_demo", verbosity=0)
        auditor, second, broker = login("auditor"), login("auditor2"), login("broker1")

        [policy] = auditor.get(f"{API}/policies/").json()["results"]
        assert policy["title_en"].startswith("Notice on the Issuance of Policies")
        version = next(v for v in auditor.get(f"{API}/policies/{policy['id']}/").json()["versions"]
                       if v["status"] == "active")

        # evaluate the demo year: the demo evaluated it already, so nothing is new and nothing doubles
        before = auditor.get(f"{API}/claims/?fund_year=2025&page_size=500").json()["results"]
        queued = auditor.post(f"{API}/evaluations/", {"version": version["id"], "period": "year",
                                                      "period_start": "2025-01-01"}, format="json")
        assert queued.status_code == 202, queued.content
        if Evaluation.objects.get(pk=queued.json()["id"]).status == Evaluation.Status.QUEUED:
            run_evaluation(queued.json()["id"])  # with a Celery broker, the worker's part
        done = auditor.get(f"{API}/evaluations/{queued.json()['id']}/").json()
        assert done["status"] == "done" and done["counts"]["created"] == 0 and done["counts"]["adjusted"] == 0
        after = auditor.get(f"{API}/claims/?fund_year=2025&page_size=500").json()["results"]
        assert sorted(c["id"] for c in after) == sorted(c["id"] for c in before)

        # why broker1's reward is 5,000: the sentence, the inputs, the steps, the records
        [row] = [c for c in after if c["kind"] == "broker_reward_general" and c["beneficiary"]["name"] == "遂昌建明服装厂"]
        claim = auditor.get(f"{API}/claims/{row['id']}/").json()
        # 5,000 is not above the version's second-approval line (5,000): one approval will do
        assert (claim["amount"], claim["status"], claim["needs_second_approval"]) == ("5000.00", "computed", False)
        wages = figures.wages_issued(year=2025)[claim["beneficiary"]["id"]]
        assert D(claim["inputs"]["wages_issued"]) == wages
        assert f"工资发放 {wages:,.2f} 元 > 500,000 且 加工人员 308 人 > 300 → 5,000 元" == claim["sentence"]["zh-CN"]
        assert claim["parameters"]["tier_2_wages_over"]["value"] == "500000"
        assert "more than 500,000" in claim["parameters"]["tier_2_wages_over"]["source"]
        assert claim["evidence_counts"]["worker"] == 308
        workers = auditor.get(f"{API}/claims/{row['id']}/evidence/?kind=worker&page_size=500").json()["results"]
        assert len(workers) == 308 and all(D(w["amount"]) >= D("2000") for w in workers)
        batches = auditor.get(f"{API}/claims/{row['id']}/evidence/?kind=payout_batch&page_size=500").json()["results"]
        assert sum(D(b["amount"]) for b in batches) == wages and all(b["path"] for b in batches)
        payslips = auditor.get(f"{API}/claims/{row['id']}/evidence/?kind=payslip&page_size=500").json()
        assert payslips["results"] and payslips["results"][0]["path"].startswith("/api/payslips/")
        # the broker sees his own claim, read-only
        assert broker.get(f"{API}/claims/{row['id']}/").status_code == 200
        assert broker.post(f"{API}/claims/{row['id']}/approve/").status_code == 403

        # four eyes: the 30,000 new-village award was first approved by the auditor; she cannot finish it
        village = next(c for c in after if c["kind"] == "new_professional_village")
        assert (village["status"], village["needs_second_approval"]) == ("first_approved", True)
        budget_before = auditor.get(f"{API}/budget/?version={version['id']}&year=2025").json()
        refused = auditor.post(f"{API}/claims/{village['id']}/approve/")
        assert refused.status_code == 403 and refused.json()["code"] == "same_approver"
        approved = second.post(f"{API}/claims/{village['id']}/approve/")
        assert approved.status_code == 200 and approved.json()["status"] == "approved"
        assert approved.json()["approvals"]["approved_by"]["name"] == "钟复核"

        budget = auditor.get(f"{API}/budget/?version={version['id']}&year=2025").json()
        assert D(budget["committed"]) == D(budget_before["committed"]) + D("30000.00")
        assert D(budget["remaining"]) == D(budget["budget"]) - D(budget["committed"])

        # export for the finance bureau: the workbook opens and holds the claims as approved
        export = APIClient(HTTP_ACCEPT_LANGUAGE="en")
        export.credentials(**auditor._credentials)
        export = export.get(f"{API}/exports/claims.xlsx?fund_year=2025")
        assert export.status_code == 200 and "attachment" in export["Content-Disposition"]
        sheet = openpyxl.load_workbook(io.BytesIO(export.content))["claims"]
        header = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
        rows = {r[0]: dict(zip(header, r)) for r in sheet.iter_rows(min_row=2, values_only=True)}
        assert len(rows) == len(after)
        exported = rows[village["id"]]
        assert (D(str(exported["Amount (yuan)"])), exported["Status"], exported["Approver"]) == (
            D("30000"), "approved", "钟复核")

        trail = auditor.get(f"{API}/audit/?object_type=claim&object_id={village['id']}").json()["results"]
        assert [e["action"] for e in trail][:2] == ["approve", "first_approve"]

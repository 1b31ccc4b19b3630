"""The compliance dashboard: every number equals a direct query and opens the list behind it;
it stays within a fixed query budget with thousands of rows; a finding raises a risk in one
click, and each record links to the other."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audits.dashboard import compliance_dashboard
from audits.models import Finding
from governance.models import Obligation
from governance.risks.models import Risk
from models_registry.models import AISystem
from tests.governance.conftest import application_dates, approved, credit_system, submitted  # noqa: F401
from tests.governance.test_risk_support import make_finding, make_risk, make_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def estate(approved, compliance_officer, ml_engineer, credit_system, organisation):
    """An approved high-risk system with obligations, more systems, findings and risks."""
    for n, (stage, tier) in enumerate(
        [("deployed", "minimal"), ("development", "unclassified"), ("deployed", "limited")]
    ):
        AISystem.objects.create(
            organisation=organisation,
            name=f"System {n}",
            purpose="x",
            lifecycle_stage=stage,
            risk_tier=tier,
            created_by=ml_engineer,
        )
    run = make_run(credit_system, ml_engineer)
    findings = [
        make_finding(run, check_id=f"C-{n}", severity=sev) for n, sev in enumerate(["critical", "high", "high", "low"])
    ]
    Finding.objects.filter(pk=findings[-1].pk).update(status="open")
    soon = timezone.localdate() + timedelta(days=40)
    Obligation.objects.filter(pk__in=Obligation.objects.order_by("pk").values("pk")[:2]).update(applies_from=soon)
    make_risk(compliance_officer, [credit_system], likelihood=5, impact=5)
    make_risk(
        compliance_officer,
        [credit_system],
        title="Within appetite",
        likelihood=2,
        impact=2,
        next_review_date=timezone.localdate() - timedelta(days=3),
    )
    return {"findings": findings}


def test_the_dashboard_numbers_equal_direct_queries(estate, compliance_officer, organisation):
    d = compliance_dashboard(user=compliance_officer)
    systems = AISystem.objects.filter(organisation=organisation)
    assert d["systems"]["total"] == systems.count() == 4
    for row in d["systems"]["rows"]:
        assert row["total"] == systems.filter(risk_tier=row["tier"]).count()
    high_row = next(r for r in d["systems"]["rows"] if r["tier"] == "high")
    assert [c["n"] for c in high_row["cells"]] == [
        systems.filter(risk_tier="high", lifecycle_stage=s).count()
        for s in ("idea", "development", "validation", "deployed", "retired")
    ]
    obligations = Obligation.objects.filter(organisation=organisation, applicable=True)
    assert d["obligations"]["total"] == obligations.count() > 0
    for s in d["obligations"]["by_status"]:
        assert s["n"] == obligations.filter(status=s["status"]).count()
    upcoming = sorted({o.applies_from for o in obligations if o.applies_from >= timezone.localdate()})[:3]
    assert [u["date"] for u in d["obligations"]["upcoming"]] == upcoming and upcoming
    assert [u["n"] for u in d["obligations"]["upcoming"]] == [
        obligations.filter(applies_from=day).count() for day in upcoming
    ]
    open_findings = Finding.objects.filter(organisation=organisation, status="open")
    assert d["findings"]["total"] == open_findings.count() == 4
    assert {s["severity"]: s["n"] for s in d["findings"]["by_severity"]} == {
        sev: open_findings.filter(severity=sev).count() for sev in ("critical", "high", "medium", "low", "info")
    }
    risks = Risk.objects.filter(organisation=organisation)
    assert d["risks"]["above_appetite"] == risks.filter(current_score__gt=9).exclude(status="closed").count() == 1
    assert d["risks"]["review_overdue"] == risks.filter(next_review_date__lt=timezone.localdate()).count() == 1
    assert (d["certificates"]["valid"], d["certificates"]["expiring"], d["certificates"]["suspended"]) == (0, 0, 0)


def test_each_number_links_to_the_list_behind_it(estate, client, compliance_officer):
    client.force_login(compliance_officer)
    body = client.get(reverse("dashboard:compliance")).content.decode()
    assert 'href="/findings/?severity=high&amp;status=open" data-testid="findings-high">2 high' in body
    assert 'href="/risks/?above_appetite=true" data-testid="risks-above-appetite">1<' in body
    assert re.search(r'href="/obligations/\?status=not_started" data-testid="obligations-not_started">\d+<', body)
    assert 'href="/systems/?risk_tier=high" data-testid="tier-high"' in body
    # and the lists behind them show the same numbers
    listed = client.get("/risks/?above_appetite=true").context["page"].paginator.count
    assert listed == 1
    assert client.get("/findings/?severity=high&status=open").context["page"].paginator.count == 2


def test_the_certificate_tile_counts_valid_expiring_and_suspended_certificates(
    high_risk_approved, client, compliance_officer
):
    from datetime import timedelta

    from audits.certification.certificates import certificate_suspend

    certificate = high_risk_approved.certificate
    d = compliance_dashboard(user=compliance_officer)["certificates"]
    assert (d["valid"], d["expiring"], d["suspended"]) == (1, 0, 0)
    type(certificate).objects.filter(pk=certificate.pk).update(valid_until=timezone.localdate() + timedelta(days=20))
    assert compliance_dashboard(user=compliance_officer)["certificates"]["expiring"] == 1
    certificate_suspend(certificate=certificate, reason="A new version was registered.")
    d = compliance_dashboard(user=compliance_officer)["certificates"]
    assert (d["valid"], d["expiring"], d["suspended"]) == (0, 0, 1)
    client.force_login(compliance_officer)
    listed = client.get(d["suspended_url"]).content.decode()
    assert high_risk_approved.reference in listed


def test_another_organisation_sees_only_its_own_numbers(estate, outsider):
    d = compliance_dashboard(user=outsider)
    assert d["systems"]["total"] == 0 and d["findings"]["total"] == 0 and d["risks"]["active"] == 0
    assert d["obligations"]["total"] == 0 and d["findings"]["top"] == []


def test_the_dashboard_stays_within_a_query_budget_with_thousands_of_rows(
    compliance_officer, ml_engineer, organisation, client, django_assert_max_num_queries
):
    tiers = ["high", "minimal", "limited", "unclassified"]
    stages = ["idea", "development", "validation", "deployed"]
    AISystem.objects.bulk_create(
        [
            AISystem(
                organisation=organisation,
                name=f"S{n}",
                purpose="x",
                risk_tier=tiers[n % 4],
                lifecycle_stage=stages[n % 4],
                created_by=ml_engineer,
            )
            for n in range(3000)
        ]
    )
    system = AISystem.objects.get(name="S0")
    make_risk(compliance_officer, [system])
    Risk.objects.bulk_create(
        [
            Risk(
                organisation=organisation,
                reference=f"R-{n + 2}",
                title=f"Risk {n}",
                category="bias",
                owner=compliance_officer,
                created_by=compliance_officer,
                likelihood=1 + n % 5,
                impact=1 + (n // 5) % 5,
                inherent_score=(1 + n % 5) * (1 + (n // 5) % 5),
                current_score=(1 + n % 5) * (1 + (n // 5) % 5),
                next_review_date=date(2026, 1, 1) + timedelta(days=n % 700),
            )
            for n in range(3000)
        ]
    )
    run = make_run(system, ml_engineer)
    Finding.objects.bulk_create(
        [
            Finding(
                organisation=organisation,
                run=run,
                system=system,
                check_id=f"C{n}",
                category="fairness",
                check_status="fail",
                severity=["critical", "high", "medium", "low"][n % 4],
                title=f"F{n}",
            )
            for n in range(1000)
        ]
    )
    client.force_login(compliance_officer)
    with django_assert_max_num_queries(20):
        response = client.get(reverse("dashboard:compliance"))
    assert response.status_code == 200
    d = response.context["d"]
    assert d["systems"]["total"] == 3000 and d["findings"]["total"] == 1000
    assert d["risks"]["above_appetite"] == Risk.objects.filter(current_score__gt=9).count() > 1000
    with django_assert_max_num_queries(12):
        compliance_dashboard(user=compliance_officer)


class TestRaiseRiskFromFinding:
    @pytest.fixture
    def finding(self, credit_system, ml_engineer):
        return make_finding(make_run(credit_system, ml_engineer), check_id="FAIR-01", severity="critical")

    def test_one_click_raises_a_risk_linked_both_ways(self, client, auditor, finding):
        client.force_login(auditor)
        response = client.post(reverse("dashboard:finding_raise_risk", args=[finding.pk]))
        risk = Risk.objects.get()
        assert response["Location"] == reverse("governance:risk_detail", args=[risk.pk])
        assert (risk.source_type, risk.source_id, risk.category, risk.source) == (
            "audits.finding",
            str(finding.pk),
            "bias",
            "validation_finding",
        )
        assert risk.current_score == 20 and list(risk.systems.all()) == [finding.system]
        page = client.get(response["Location"]).content.decode()
        assert f'href="/findings/?run={finding.run_id}"' in page  # risk → finding
        dashboard = client.get(reverse("dashboard:compliance")).content.decode()
        assert f'href="/risks/{risk.pk}/" class="small" data-testid="raised-risk">R-1<' in dashboard  # finding → risk

    def test_a_second_click_opens_the_risk_already_raised(self, client, auditor, finding):
        client.force_login(auditor)
        first = client.post(reverse("dashboard:finding_raise_risk", args=[finding.pk]))
        second = client.post(reverse("dashboard:finding_raise_risk", args=[finding.pk]))
        assert second["Location"] == first["Location"] and Risk.objects.count() == 1

    def test_another_organisation_cannot_raise_a_risk_from_the_finding(self, client, outsider, finding):
        client.force_login(outsider)
        assert client.post(reverse("dashboard:finding_raise_risk", args=[finding.pk])).status_code == 404
        assert not Risk.objects.exists()

    def test_an_engineer_who_does_not_own_the_system_gets_403(self, client, finding, organisation):
        from core.choices import Role
        from tests.conftest import make_user

        other = make_user(organisation, "otto", Role.ML_ENGINEER)
        client.force_login(other)
        assert client.post(reverse("dashboard:finding_raise_risk", args=[finding.pk])).status_code == 403

    def test_only_post_is_accepted(self, client, auditor, finding):
        client.force_login(auditor)
        assert client.get(reverse("dashboard:finding_raise_risk", args=[finding.pk])).status_code == 405

    def test_the_partial_lists_raised_risks_for_the_finding_pages(self, rf, auditor, finding):
        from django.template.loader import render_to_string

        from core.permissions import permissions_of

        request = rf.get("/findings/")
        request.user = auditor
        context = {"finding": finding, "user": auditor, "user_permissions": permissions_of(auditor)}
        before = render_to_string("audits/_finding_risks.html", context, request=request)
        assert f'data-testid="raise-risk-{finding.pk}"' in before
        from governance.risks.services import risk_create_from_source

        risk_create_from_source(
            actor=auditor,
            system=finding.system,
            title="t",
            description="",
            category="bias",
            source_ref={"type": "audits.finding", "id": finding.pk},
        )
        after = render_to_string("audits/_finding_risks.html", context, request=request)
        assert "R-1" in after and "raise-risk" not in after

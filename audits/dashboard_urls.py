"""The compliance dashboard and the finding → risk link (namespace "dashboard", included from
config/urls.py)."""

from django.urls import path

from audits import dashboard, risk_link

app_name = "dashboard"
urlpatterns = [
    path("compliance/", dashboard.dashboard_view, name="compliance"),
    path("findings/<int:pk>/raise-risk/", risk_link.finding_raise_risk, name="finding_raise_risk"),
]

"""Staff move an AI Act application date in the Django admin (the Digital Omnibus case)."""

from datetime import date

import pytest

from governance.models import ApplicationDate, Obligation
from tests.governance.conftest import events

pytestmark = pytest.mark.django_db


def test_staff_move_the_annex_iii_date_in_the_admin_and_the_obligations_follow(client, approved, credit_system):
    from core.models import User

    staff = User.objects.create_superuser(username="root", email="root@example.org", password="x-very-long-pass")
    client.force_login(staff)
    row = ApplicationDate.objects.get(key="annex_iii")
    response = client.post(
        f"/admin/governance/applicationdate/{row.pk}/change/",
        {"applies_from": "2027-12-02", "note": "Digital Omnibus, OJ L 2026/…"},
    )
    assert response.status_code == 302
    assert ApplicationDate.objects.get(key="annex_iii").applies_from == date(2027, 12, 2)
    assert Obligation.objects.get(system=credit_system, article="Art. 9").applies_from == date(2027, 12, 2)
    assert events("application_date.changed").get().actor == staff


def test_determinations_are_read_only_in_the_admin(client, approved):
    from core.models import User

    staff = User.objects.create_superuser(username="root", email="root@example.org", password="x-very-long-pass")
    client.force_login(staff)
    assert client.get("/admin/governance/determination/").status_code == 200
    assert client.post(f"/admin/governance/determination/{approved.pk}/delete/", {"post": "yes"}).status_code == 403

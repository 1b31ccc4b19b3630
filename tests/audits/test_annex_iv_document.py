"""The Annex IV technical documentation as a document people finish in the portal: per point the
filled part, the text a person adds, its gaps and who last edited it; saving writes the trail, a
stale edit is refused with the editor's text kept; PDF and Word exports carry the person's text."""

from __future__ import annotations

import io
import subprocess

import pytest
from django.test import Client
from django.urls import reverse

from tests.audits.certification_support import high_risk_approved  # noqa: F401  (fixture)
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

HARDWARE = "Runs on two x86-64 servers with 16 GB of memory in the bank data centre."


@pytest.fixture
def system(organisation, ml_engineer):
    from models_registry.models import AISystem

    return AISystem.objects.create(
        organisation=organisation,
        name="Consumer credit scoring",
        purpose="Scores consumer loan applicants.",
        created_by=ml_engineer,
    )


def client_for(user) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def edit_url(system) -> str:
    return reverse("reports:annex_iv_edit", args=[system.pk])


def form_of(system, **texts) -> dict:
    """What the edit page posts for the points named (slug -> text), based on what is saved now."""
    from audits.reports.annex_iv import annex_iv_build, annex_iv_text_sha256

    items = {item.slug: item for item in annex_iv_build(system=system).items}
    data = {}
    for slug, text in texts.items():
        item = items[slug]
        data |= {
            f"text-{slug}": text,
            f"rev-{slug}": str(item.revision),
            f"base-{slug}": annex_iv_text_sha256(item.written),
        }
    return data


def pdf_text(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF-"), pdf[:20]
    result = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return result.stdout.decode("utf-8")


# --- editing ------------------------------------------------------------------------------------


def test_the_document_has_a_text_area_for_every_annex_iv_point(system, ml_engineer):
    from audits.reports.annex_iv import annex_iv_build, annex_iv_points

    assert [item.point for item in annex_iv_build(system=system).items] == list(annex_iv_points())
    html = client_for(ml_engineer).get(edit_url(system)).content.decode()
    for slug in ("1a", "1e", "2g", "3", "9"):
        assert f'data-testid="annex-text-{slug}"' in html
    assert "Describe the hardware the system is intended to run on" in html  # 1(e)'s gap is shown


def test_an_ml_engineer_writes_a_point_and_the_document_shows_it_with_her_name(system, ml_engineer):
    client = client_for(ml_engineer)
    response = client.post(edit_url(system), form_of(system, **{"1e": HARDWARE}))
    assert response.status_code == 302
    page = client.get(edit_url(system)).content.decode()
    assert HARDWARE in page
    assert "Last edited by Mia on" in page
    assert "Saved point 1(e)." in page
    item = page[page.index('data-testid="annex-item-1e"') :].split("</section>")[0]
    assert "Provider&#x27;s text added — check the gaps" in item  # the gap stays listed, to check
    assert "Check your text covers:</strong> Describe the hardware" in item


def test_saving_a_point_writes_one_trail_event_with_who_which_point_and_a_hash_of_the_text(system, compliance_officer):
    from audits.reports.annex_iv import annex_iv_text_sha256
    from audits.reports.models import AnnexIVEntry
    from core.models import AuditEvent

    client_for(compliance_officer).post(
        edit_url(system), form_of(system, **{"1e": HARDWARE, "4": "Recall matters most: a missed default costs most."})
    )
    events = list(AuditEvent.objects.filter(verb="annex_iv.point_edited").order_by("seq"))
    assert [e.after["point"] for e in events] == ["1(e)", "4"]
    first = events[0]
    assert first.actor_username == compliance_officer.username
    assert first.after["sha256"] == annex_iv_text_sha256(HARDWARE)
    assert first.after["revision"] == 1 and first.before["revision"] == 0
    assert HARDWARE not in str(first.after)  # the trail holds the hash, the entry holds the text
    entry = AnnexIVEntry.objects.get(system=system, point="1(e)")
    assert entry.text == HARDWARE and entry.edited_by == compliance_officer


def test_the_page_shows_each_points_history_from_the_trail(system, ml_engineer, compliance_officer):
    client_for(ml_engineer).post(edit_url(system), form_of(system, **{"1e": "First draft."}))
    client_for(compliance_officer).post(edit_url(system), form_of(system, **{"1e": HARDWARE}))
    html = client_for(ml_engineer).get(edit_url(system)).content.decode()
    history = html[html.index('data-testid="annex-history-1e"') :].split("</details>")[0]
    assert "(2)" in history
    assert history.index("chloe · revision 2") < history.index("mia · revision 1")  # newest first
    assert 'data-testid="annex-history-1a"' not in html  # a point nobody wrote has no history


def test_the_systems_trail_export_holds_the_documentation_edits(system, compliance_officer):
    import json

    client = client_for(compliance_officer)
    client.post(edit_url(system), form_of(system, **{"1e": HARDWARE}))
    response = client.get(reverse("reports:system_trail_export", args=[system.pk]))
    lines = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines() if line]
    edits = [line for line in lines if line.get("verb") == "annex_iv.point_edited"]
    assert len(edits) == 1 and edits[0]["after"]["point"] == "1(e)"


def test_points_left_untouched_write_nothing_to_the_trail(system, ml_engineer):
    from core.models import AuditEvent

    client = client_for(ml_engineer)
    client.post(edit_url(system), form_of(system, **{"1e": HARDWARE}))
    # The whole form is posted again with the same text for 1(e) and nothing new elsewhere.
    client.post(edit_url(system), form_of(system, **{"1e": HARDWARE, "2a": ""}))
    assert AuditEvent.objects.filter(verb="annex_iv.point_edited").count() == 1


def test_a_stale_edit_is_refused_with_409_and_the_editors_text_kept(system, ml_engineer, compliance_officer):
    from audits.reports.models import AnnexIVEntry

    stale_form = form_of(system, **{"1e": "Mia's description of the hardware."})
    client_for(compliance_officer).post(edit_url(system), form_of(system, **{"1e": HARDWARE}))

    response = client_for(ml_engineer).post(edit_url(system), stale_form)
    assert response.status_code == 409
    html = response.content.decode()
    assert "Mia&#x27;s description of the hardware." in html  # her text, still in the text area
    assert HARDWARE in html  # beside what Chloe saved meanwhile
    assert 'data-testid="annex-conflict-1e"' in html
    assert AnnexIVEntry.objects.get(system=system, point="1(e)").text == HARDWARE  # not overwritten


def test_after_a_conflict_saving_again_is_a_deliberate_overwrite(system, ml_engineer, compliance_officer):
    import re

    from audits.reports.models import AnnexIVEntry

    stale_form = form_of(system, **{"1e": "Mia's text."})
    client_for(compliance_officer).post(edit_url(system), form_of(system, **{"1e": HARDWARE}))
    mia = client_for(ml_engineer)
    html = mia.post(edit_url(system), stale_form).content.decode()
    rebased = {
        "text-1e": "Mia's text, merged with Chloe's.",
        "rev-1e": re.search(r'name="rev-1e" value="(\d+)"', html).group(1),
        "base-1e": re.search(r'name="base-1e" value="([0-9a-f]{64})"', html).group(1),
    }
    assert mia.post(edit_url(system), rebased).status_code == 302
    entry = AnnexIVEntry.objects.get(system=system, point="1(e)")
    assert entry.text == "Mia's text, merged with Chloe's." and entry.revision == 2


def test_a_text_too_long_is_refused_with_400_and_kept(system, ml_engineer):
    from audits.reports.services import MAX_TEXT_CHARS

    text = "x" * (MAX_TEXT_CHARS + 1)
    response = client_for(ml_engineer).post(edit_url(system), form_of(system, **{"2b": text}))
    assert response.status_code == 400
    html = response.content.decode()
    assert "longer than 20,000 characters" in html and text in html


def test_a_tampered_form_gets_a_clear_400_not_a_server_error(system, ml_engineer):
    response = client_for(ml_engineer).post(edit_url(system), {"text-1e": "x", "rev-1e": "one", "base-1e": "zz"})
    assert response.status_code == 400
    assert "reload the page" in response.content.decode()


def test_an_auditor_reads_the_persons_text_without_a_text_area(system, ml_engineer, auditor):
    client_for(ml_engineer).post(edit_url(system), form_of(system, **{"1e": HARDWARE}))
    html = client_for(auditor).get(edit_url(system)).content.decode()
    assert HARDWARE in html
    assert "<textarea" not in html


def test_the_system_page_and_the_version_page_link_to_the_document(high_risk_approved, auditor):  # noqa: F811
    client = client_for(auditor)
    system_page = client.get(reverse("registry:system_detail", args=[high_risk_approved.system_id])).content.decode()
    assert edit_url(high_risk_approved.system) in system_page
    version_page = client.get(
        reverse("registry:version_detail", args=[high_risk_approved.model_version_id])
    ).content.decode()
    assert edit_url(high_risk_approved.system) in version_page


# --- exports ------------------------------------------------------------------------------------


def test_the_word_export_opens_with_headings_per_point_the_persons_text_gaps_and_a_footer(system, ml_engineer):
    from docx import Document

    client = client_for(ml_engineer)
    client.post(edit_url(system), form_of(system, **{"1e": HARDWARE}))
    response = client.get(reverse("reports:annex_iv_docx", args=[system.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.docx"')
    doc = Document(io.BytesIO(response.content))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert any(h.startswith("1(e) Hardware on which it is intended to run") for h in headings)
    assert any(h.startswith("9 Post-market") for h in headings)
    texts = [p.text for p in doc.paragraphs]
    assert HARDWARE in texts
    assert any(t.startswith("Last edited by Mia on") for t in texts)
    assert any(t.startswith("GAP — Describe the interfaces") for t in texts)
    footer = doc.sections[0].footer.paragraphs[0].text
    assert "Consumer credit scoring" in footer and "no model version registered" in footer and "generated" in footer


def test_the_word_footer_names_the_current_version(high_risk_approved, auditor):  # noqa: F811
    from docx import Document

    system = high_risk_approved.system
    response = client_for(auditor).get(reverse("reports:annex_iv_docx", args=[system.pk]))
    footer = Document(io.BytesIO(response.content)).sections[0].footer.paragraphs[0].text
    latest = system.versions.order_by("-created_at").first()
    assert f"version {latest.version_label}" in footer


def test_the_pdf_carries_the_persons_text(system, ml_engineer):
    client = client_for(ml_engineer)
    client.post(edit_url(system), form_of(system, **{"1e": HARDWARE}))
    text = pdf_text(client.get(reverse("reports:annex_iv_pdf", args=[system.pk])).content)
    assert "Runs on two x86-64 servers" in " ".join(text.split())
    assert "last edited by Mia" in text


# --- who may do what ----------------------------------------------------------------------------

READERS = {
    "anonymous": 302,
    "ml_engineer": 200,
    "auditor": 200,
    "compliance_officer": 200,
    "org_admin": 200,
    "outsider": 404,
}


@pytest.mark.parametrize("name", ["reports:annex_iv_edit", "reports:annex_iv_docx", "reports:annex_iv_pdf"])
def test_every_member_of_the_organisation_may_read_and_export_the_document_and_nobody_else(
    name, system, permission_matrix
):
    url = reverse(name, args=[system.pk])
    assert permission_matrix(lambda client: client.get(url)) == READERS


def test_only_ml_engineers_and_compliance_officers_may_save_the_document(system, permission_matrix):
    from audits.reports.models import AnnexIVEntry

    def save(client):
        return client.post(edit_url(system), form_of(system, **{"1e": f"text {AnnexIVEntry.objects.count()}"}))

    assert permission_matrix(save) == {
        "anonymous": 302,
        "ml_engineer": 302,
        "auditor": 403,
        "compliance_officer": 302,
        "org_admin": 403,
        "outsider": 404,
    }
    assert AnnexIVEntry.objects.get(point="1(e)").edited_by.role == "compliance_officer"


def test_a_member_of_another_organisation_cannot_edit_even_as_an_editor_role(system, other_organisation):
    from audits.reports.models import AnnexIVEntry

    stranger = make_user(other_organisation, "stranger", "ml_engineer")
    response = client_for(stranger).post(edit_url(system), form_of(system, **{"1e": "hijack"}))
    assert response.status_code == 404
    assert not AnnexIVEntry.objects.exists()


def test_the_service_refuses_an_editor_of_another_organisation(system, other_organisation):
    from audits.reports.annex_iv import annex_iv_text_sha256
    from audits.reports.services import PointEdit, annex_iv_document_save
    from core.errors import NotFound

    stranger = make_user(other_organisation, "stranger", "compliance_officer")
    with pytest.raises(NotFound):
        annex_iv_document_save(
            actor=stranger, system=system, edits=[PointEdit("1(e)", "x", 0, annex_iv_text_sha256(""))]
        )

"""In Chromium, changing the test dataset on the start form swaps in that dataset's columns (htmx),
with no page load and no script error."""

import pytest

from tests.audits.validation_support import credit_frame, csv_bytes, register_credit_system, uploaded

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_changing_the_test_dataset_updates_the_column_pickers(live_server, page, screenshot, ml_engineer):
    from django.contrib.auth import get_user_model

    from models_registry.services import dataset_register

    ml_engineer.set_password("a long enough password 1")
    ml_engineer.save()
    credit = register_credit_system(get_user_model().objects.get(pk=ml_engineer.pk))
    frame = credit_frame(60, seed=3).rename(columns={"default": "label", "sex": "gender"})
    other = dataset_register(
        actor=ml_engineer, system=credit.system, name="holdout", role="test", file=uploaded("h.csv", csv_bytes(frame))
    )
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", ml_engineer.username)
    page.fill("input[name=password]", "a long enough password 1")
    page.click("button[type=submit]")
    page.wait_for_selector("nav.sidenav")  # logged in before the next page is asked for
    page.goto(f"{live_server.url}/validations/new/{credit.system.pk}/")
    form = page.locator("[data-testid=validation-form]")
    page.evaluate("window.__same_page = true")
    form.locator("select[name=test_dataset]").select_option(str(credit.test.pk))
    page.wait_for_selector("select[name=sensitive_columns] option[value=sex]")
    assert form.locator("select[name=sensitive_columns]").evaluate("s => [...s.selectedOptions].map(o => o.value)") == [
        "sex"
    ]
    form.locator("select[name=test_dataset]").select_option(str(other.pk))
    page.wait_for_selector("select[name=sensitive_columns] option[value=gender]")
    assert "sex" not in form.locator("select[name=sensitive_columns] option").all_inner_texts()
    assert form.locator("select[name=target_column]").input_value() == "label"
    assert page.evaluate("window.__same_page") is True  # swapped in place, not a page load
    assert form.locator("[data-testid=missing-features]").count() == 0
    screenshot("validation-columns-refreshed")
    assert errors == []

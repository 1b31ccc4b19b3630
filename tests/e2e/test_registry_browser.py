import joblib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from audits.management.commands.seed_demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_users(db):
    from django.core.management import call_command

    call_command("seed_demo", "--quiet-summary", "--force", "--without-examples")


@pytest.fixture
def model_file(tmp_path):
    rng = np.random.RandomState(1)
    X = rng.randn(100, 3)
    path = tmp_path / "credit-model.joblib"
    joblib.dump(LogisticRegression().fit(X, (X[:, 0] > 0).astype(int)), path)
    return path


@pytest.fixture
def dataset_file(tmp_path):
    path = tmp_path / "applications.csv"
    rows = ["age;income;sex;email;default"] + [
        f"{20 + n % 50};{1000 + 37 * n};{'F' if n % 3 else 'M'};person{n}@example.org;{n % 2}" for n in range(120)
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def log_in(page, url, username):
    page.goto(f"{url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")


def test_an_ml_engineer_registers_a_system_and_uploads_a_model_and_a_dataset(
    live_server, page, screenshot, demo_users, model_file, dataset_file
):
    log_in(page, live_server.url, "engineer")
    page.click("nav.sidenav >> text=Inventory")
    page.click("[data-testid=register-system]")
    form = page.locator("[data-testid=system-form]")
    form.locator("input[name=name]").fill("Consumer credit scoring")
    form.locator("textarea[name=purpose]").fill("Score consumer loan applications for creditworthiness.")
    form.locator("textarea[name=intended_use]").fill("Credit officers use the score to approve retail loans.")
    form.locator("input[name=owner_team]").fill("Credit risk")
    form.locator("input[name=processes_personal_data]").check()
    form.locator("input[name=tags]").fill("credit, retail")
    form.locator("select[name=sector]").select_option("essential_services")
    form.locator("input[name=affected_groups][value=customers]").check()
    screenshot("registry-register-system")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=is registered")
    assert page.inner_text("[data-testid=affected-groups]") == "Customers"
    assert "Essential private and public services" in page.inner_text("[data-testid=sector]")

    page.click("[data-testid=upload-version]")
    upload = page.locator("[data-testid=upload-form]")
    upload.locator("input[name=version_label]").fill("1.0.0")
    upload.locator("input[name=file]").set_input_files(str(model_file))
    upload.locator("textarea[name=feature_columns]").fill("a, b, c")
    upload.locator("textarea[name=claimed_metrics]").fill("auc = 0.91")
    upload.locator("button[type=submit]").click()
    page.wait_for_selector("[data-testid=scan-verdict]")
    assert "Safe" in page.inner_text("[data-testid=scan-verdict]")
    facts = page.inner_text("[data-testid=file-facts]")
    assert "joblib" in facts and "SHA-256" in facts
    screenshot("registry-model-version")

    page.click("text=← Consumer credit scoring")
    page.click("[data-testid=upload-dataset]")
    upload = page.locator("[data-testid=upload-form]")
    upload.locator("select[name=role]").select_option("test")
    upload.locator("input[name=file]").set_input_files(str(dataset_file))
    upload.locator("input[name=target_column]").fill("default")
    upload.locator("input[name=sensitive_columns]").fill("sex, age")
    upload.locator("button[type=submit]").click()
    page.wait_for_selector("[data-testid=schema-table]")
    assert "email" in page.inner_text("[data-testid=pii-badge]") or page.is_visible("[data-testid=pii-badge]")
    assert "120 rows" in page.inner_text("h2")
    screenshot("registry-dataset")

    page.click("nav.sidenav >> text=Inventory")
    table = page.inner_text("[data-testid=system-table]")
    assert "Consumer credit scoring" in table and "Not classified" in table
    screenshot("registry-inventory")


def test_a_refused_model_shows_the_reasons_in_the_browser(live_server, page, screenshot, demo_users, tmp_path):
    import pickle

    from tests.models_registry.safety.payloads import OsSystem

    evil = tmp_path / "model.pkl"
    evil.write_bytes(pickle.dumps(OsSystem(tmp_path / "fired"), protocol=2))
    from core.models import User
    from models_registry.services import system_create

    system = system_create(actor=User.objects.get(username="engineer"), name="Churn", purpose="Predict churn")
    log_in(page, live_server.url, "engineer")
    page.goto(f"{live_server.url}/systems/{system.pk}/versions/new/")
    upload = page.locator("[data-testid=upload-form]")
    upload.locator("input[name=version_label]").fill("0.1")
    upload.locator("input[name=file]").set_input_files(str(evil))
    upload.locator("button[type=submit]").click()
    page.wait_for_selector("[data-testid=upload-error]")
    assert "refused" in page.inner_text("[data-testid=upload-error]")
    assert not (tmp_path / "fired").exists()
    screenshot("registry-refused-model")

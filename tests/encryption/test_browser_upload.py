"""The site's upload form in headless Chromium: the browser checks the CSV, seals it with
static/js/hpke.mjs and uploads only the envelope; after close the server opens it to exactly
the predictions the modeler chose."""

import shutil

import numpy as np
import pytest
from arena_client.sealing import open_sealed, submission_info
from django.urls import reverse

from tests.builders import csv_bytes, predictions_frame
from tests.conftest import PASSWORD
from tournaments.blobs import blob_store
from tournaments.models import Round, Submission
from tournaments.round_keys import round_private_key
from tournaments.selectors import predictions_matrix
from tournaments.services.lifecycle import round_close

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


@pytest.fixture
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.skip("chromium/chromedriver not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _log_in(driver, base: str, username: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    login = reverse("login")
    driver.get(base + login)
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    # Wait for the login's redirect: a page opened before the session cookie is set would be
    # sent back to the login form.
    WebDriverWait(driver, 30).until(
        lambda d: not d.execute_script("return location.pathname").startswith(login),
        message=f"still on the login page after logging in as {username}",
    )


def _upload_through_the_form(driver, base: str, model, path) -> dict:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(base + reverse("my-model", args=[model.pk]))
    wait = WebDriverWait(driver, 30)
    # The module marks the form once it has taken over its submit (sealing in the browser).
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "form#upload-form[data-ready=true]")))
    driver.find_element(By.CSS_SELECTOR, "#upload-form input[type=file]").send_keys(str(path))
    driver.find_element(By.CSS_SELECTOR, "#upload-form button[type=submit]").click()
    box = wait.until(
        ec.presence_of_element_located(
            (By.CSS_SELECTOR, "#upload-status[data-state=received], #upload-status[data-state=error]")
        )
    )
    receipt = {
        el.get_attribute("data-receipt"): el.text
        for el in box.find_elements(By.CSS_SELECTOR, "[data-receipt]")
    }
    return {"state": box.get_attribute("data-state"), "text": box.text, "receipt": receipt}


def test_the_form_seals_in_the_browser_and_the_server_opens_it_after_close(
    browser, live_server, modeler, model, open_round, live_ids, tmp_path
):
    frame = predictions_frame(live_ids, seed=21)
    plaintext = csv_bytes(frame)
    path = tmp_path / "my-predictions.csv"
    path.write_bytes(plaintext)

    _log_in(browser, live_server.url, modeler.username)
    result = _upload_through_the_form(browser, live_server.url, model, path)
    assert result["state"] == "received", result["text"]
    assert result["text"].startswith("Sealed predictions received for round 1.")

    sub = Submission.objects.get()
    assert (sub.model, sub.state, sub.filename) == (model, "received", "my-predictions.csv.sealed")
    assert result["receipt"]["cid"] == sub.cid
    assert result["receipt"]["signature"] == sub.receipt_signature
    envelope = blob_store().get(sub.cid)
    assert plaintext not in envelope and envelope.startswith(b"ARNS\x01")

    closed = round_close(round=open_round, now=open_round.closes_at)
    sub.refresh_from_db()
    assert (sub.state, sub.rows, sub.error) == ("valid", 50, "")
    _, matrix = predictions_matrix(round=closed)
    np.testing.assert_array_equal(matrix[:, 0], frame["prediction"].to_numpy())
    # The envelope holds exactly the bytes of the chosen file, bound to this model and round.
    private_key = round_private_key(round=Round.objects.get(pk=closed.pk))
    assert open_sealed(envelope, private_key, submission_info("weather", 1, model.id)) == plaintext


def test_the_form_stops_a_broken_file_before_sealing(
    browser, live_server, modeler, model, open_round, live_ids, tmp_path
):
    frame = predictions_frame(live_ids, seed=2)
    frame.loc[3, "prediction"] = 1.5
    path = tmp_path / "broken.csv"
    path.write_bytes(csv_bytes(frame))

    _log_in(browser, live_server.url, modeler.username)
    result = _upload_through_the_form(browser, live_server.url, model, path)
    assert result["state"] == "error"
    assert "broken.csv was not uploaded: fix these problems first." in result["text"]
    assert "1 row with a prediction outside [0, 1]: row 4 (id 'live003'): '1.5'" in result["text"]
    assert not Submission.objects.exists()

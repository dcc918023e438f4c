"""Headless Chromium watches the leaderboard of a running Arena (`manage.py up`: uvicorn and the
round scheduler in one process, on its own SQLite file) and sees rows appear, then ranks
change, pushed over the websocket — the page is never reloaded."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.live.served import ROOT, served_arena

pytestmark = pytest.mark.browser

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def arena(tmp_path_factory):
    """`manage.py up` on a compressed clock: round 1 opens at once, closes after 6 s, then 4
    score days 3 s apart — every score day re-ranks the demo's 19 models."""
    if not (shutil.which(CHROMEDRIVER) and shutil.which(CHROMIUM)):
        pytest.skip(f"needs Debian chromium and chromium-driver ({CHROMIUM}, {CHROMEDRIVER})")
    with served_arena(
        tmp_path_factory.mktemp("var"),
        args=["--round-interval", "600", "--submission-window", "6", "--resolution-lag", "1",
              "--score-days", "4", "--score-day-interval", "3", "--rows-per-era", "100"],
        env={"ARENA_TICK_SECONDS": "0.5", "ARENA_CHAIN": "off"},
        ready_path="/tournaments/classic/leaderboard/",
        timeout=90,
    ) as served:
        yield served


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


ROW_ORDER = "return [...document.querySelectorAll('#leaderboard tbody tr[data-model-id]')].map(r => r.id)"


def _poll(driver, script: str, until, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if until(value):
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s; last value: {value!r}")


def test_rank_changes_arrive_without_a_reload(arena, browser):
    browser.get(f"{arena}/tournaments/classic/leaderboard/")
    # A mark on this page instance, and on the table element: both survive only if the page
    # is never reloaded or re-rendered.
    browser.execute_script("window.__arenaPage = 'first-load'; document.getElementById('leaderboard').__kept = true;")
    _poll(browser, "return document.querySelector('[data-live-status]').dataset.state", lambda s: s == "live", 20)

    first = _poll(browser, ROW_ORDER, lambda ids: len(ids) == 19, 60)  # score day 1 arrives
    browser.execute_script(
        "for (const r of document.querySelectorAll('#leaderboard tbody tr[data-model-id]')) r.__kept = true;"
    )
    version_before = int(browser.execute_script("return document.getElementById('leaderboard').dataset.version"))
    changed = _poll(browser, ROW_ORDER, lambda ids: len(ids) == 19 and ids != first, 60)
    assert sorted(changed) == sorted(first)  # the same models, in a new order

    state = browser.execute_script(
        """
        const rows = [...document.querySelectorAll('#leaderboard tbody tr[data-model-id]')];
        return {
          page: window.__arenaPage,
          tableKept: document.getElementById('leaderboard').__kept === true,
          rowsKept: rows.every(r => r.__kept === true),
          ranks: rows.map(r => Number(r.dataset.rank)),
          rankCells: rows.map(r => Number(r.querySelector('[data-field=rank]').textContent)),
          version: Number(document.getElementById('leaderboard').dataset.version),
          status: document.querySelector('[data-live-status]').textContent,
          navigations: performance.getEntriesByType('navigation').length,
        };
        """
    )
    assert state["page"] == "first-load" and state["tableKept"] and state["navigations"] == 1
    assert state["rowsKept"], "rows must be moved in place, not rebuilt"
    assert state["ranks"] == list(range(1, 20)) == state["rankCells"]
    assert state["version"] > version_before
    assert state["status"] == "live"


def _manage(arena_var: Path, code: str) -> str:
    """Run Python in the served Arena's own database (a second process, as an admin would)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env |= {"ARENA_VAR_DIR": str(arena_var), "ARENA_CHAIN": "off"}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip()


PRIVATE_ROWS = "return [...document.querySelectorAll('#my-live-models tbody tr')].map(r => r.textContent)"


def test_a_modelers_private_view_shows_their_stake_change_live(arena, browser):
    var = Path(arena.var)
    password = "watch-it-live-0123"
    out = _manage(var, f"""
from django.contrib.auth.models import User
from accounts.services import api_key_create
from tournaments.models import Tournament
from tournaments.services.model_slots import model_create
user = User.objects.create_user("watcher", password="{password}")
model = model_create(owner=user, tournament=Tournament.objects.get(slug="classic"), name="watchful")
print(model.pk, api_key_create(user=user, name="browser test", scopes=["stake"]).raw_key)
""")
    model_id, key = out.split()[-2:]
    browser.get(f"{arena}/accounts/login/")
    browser.find_element("name", "username").send_keys("watcher")
    browser.find_element("name", "password").send_keys(password)
    browser.find_element("css selector", "form [type=submit]").click()
    _poll(browser, "return location.pathname", lambda p: not p.startswith("/accounts/login"), 20)

    browser.get(f"{arena}/tournaments/classic/leaderboard/")
    browser.execute_script("window.__arenaPage = 'first-load';")
    rows = _poll(browser, PRIVATE_ROWS, lambda r: len(r) == 1, 20)
    assert rows[0].startswith("watchful0none yet")  # model, stake 0, no submission yet
    assert browser.execute_script("return document.querySelector('[data-live-private]').hidden") is False

    response = httpx.post(
        f"{arena}/api/models/{model_id}/stake", json={"amount": "12.5"},
        headers={"Authorization": f"Bearer {key}"}, timeout=10,
    )
    assert response.status_code == 200, response.text
    rows = _poll(browser, PRIVATE_ROWS, lambda r: r and r[0].startswith("watchful12.5"), 20)
    assert browser.execute_script("return window.__arenaPage") == "first-load"  # no reload
    # Another visitor's page never shows it: the private part goes to the owner's socket only.
    browser.delete_all_cookies()
    browser.get(f"{arena}/tournaments/classic/leaderboard/")
    _poll(browser, "return document.querySelector('[data-live-status]').dataset.state", lambda s: s == "live", 20)
    assert browser.execute_script(PRIVATE_ROWS) == []

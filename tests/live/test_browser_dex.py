"""Headless Chromium watches a DEX round of a running Arena (`manage.py up` on the embedded
chain: the classic demo, the DEX demo market and its replay keeper, daphne and the scheduler
in one process): the vault's P&L and its chart arrive over the websocket, mark after mark,
without a reload."""

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests.live.test_browser_leaderboard import CHROMEDRIVER, CHROMIUM, ROOT, _poll, browser  # noqa: F401
from tests.production.stack import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def arena_with_dex(tmp_path_factory):
    import shutil

    if not (shutil.which(CHROMEDRIVER) and shutil.which(CHROMIUM)):
        pytest.skip(f"needs Debian chromium and chromium-driver ({CHROMIUM}, {CHROMEDRIVER})")
    var = tmp_path_factory.mktemp("var")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env |= {"ARENA_VAR_DIR": str(var), "ARENA_TICK_SECONDS": "0.5", "ARENA_CHAIN": "embedded",
            "ARENA_DEX_MARK_SECONDS": "2"}
    log = open(var / "up.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "up", "--port", str(port), "--rows-per-era", "100"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 400  # two demos on the in-process chain take a while
        while True:
            assert proc.poll() is None, (var / "up.log").read_text()[-3000:]
            try:
                if httpx.get(f"{base}/tournaments/dex/rounds/1/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (var / "up.log").read_text()[-3000:]
            time.sleep(0.5)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


PNL = """return {
  value: document.getElementById('pnl-value').textContent,
  pnl: document.getElementById('pnl-pnl').textContent,
  rebalance: document.getElementById('pnl-rebalance').textContent,
  weights: document.querySelectorAll('#weights tbody tr:not(.empty-row)').length,
  chart: document.querySelector('#pnl-chart img').getAttribute('src'),
  page: window.__arenaPage,
}"""


def test_a_dex_rounds_pnl_and_chart_arrive_live(arena_with_dex, browser):  # noqa: F811
    browser.get(f"{arena_with_dex}/tournaments/dex/rounds/1/")
    browser.execute_script("window.__arenaPage = 'first-load';")
    _poll(browser, "return document.querySelector('[data-live-status]').dataset.state", lambda s: s == "live", 30)
    # The round closes 30 s after it opens; the book, the rebalance and the first marks follow.
    first = _poll(browser, PNL, lambda p: p["value"] != "—" and "?mark=" in p["chart"], 150)
    assert first["value"].endswith(" AUSD") and first["weights"] == 6
    assert first["rebalance"].startswith("done, 6 trades at")
    later = _poll(browser, PNL, lambda p: p["chart"] != first["chart"], 60)  # the next mark
    assert later["page"] == "first-load"  # never reloaded
    chart_loaded = browser.execute_script(
        "const i = document.querySelector('#pnl-chart img'); return i.complete && i.naturalWidth > 0"
    )
    assert chart_loaded

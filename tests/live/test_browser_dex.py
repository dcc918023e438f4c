"""Headless Chromium watches a DEX round of a running Arena (`manage.py up` on the embedded
chain: the classic demo, the DEX demo market and its replay keeper, uvicorn and the scheduler
in one process): the vault's P&L and its chart arrive over the websocket, mark after mark,
without a reload."""

import shutil

import pytest

from tests.live.served import served_arena
from tests.live.test_browser_leaderboard import CHROMEDRIVER, CHROMIUM, _poll, browser  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def arena_with_dex(tmp_path_factory):
    if not (shutil.which(CHROMEDRIVER) and shutil.which(CHROMIUM)):
        pytest.skip(f"needs Debian chromium and chromium-driver ({CHROMIUM}, {CHROMEDRIVER})")
    with served_arena(
        tmp_path_factory.mktemp("var"),
        args=["--rows-per-era", "100"],
        env={"ARENA_TICK_SECONDS": "0.5", "ARENA_CHAIN": "embedded", "ARENA_DEX_MARK_SECONDS": "2"},
        ready_path="/tournaments/dex/rounds/1/",
        timeout=400,  # two demos on the in-process chain take a while to set up
    ) as served:
        yield served


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

"""The browser module in a real browser: headless Chromium seals with static/js/hpke.mjs and
Python opens the envelope. A smoke test of WebCrypto X25519 in Chromium; the full upload-form
test lives with the site's tests."""

import http.server
import shutil
import threading
from functools import partial
from pathlib import Path

import pytest
from arena_client.cid import cid_for_bytes
from arena_client.sealing import generate_round_keypair, open_sealed, submission_info

pytestmark = pytest.mark.browser

STATIC = Path(__file__).resolve().parents[2] / "static"
CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")

SEAL_IN_PAGE = """
const [publicKeyHex, plaintext, done] = arguments;
Promise.all([import("/js/hpke.mjs"), import("/js/cid.mjs")])
  .then(async ([hpke, cid]) => {
    const info = hpke.submissionInfo("crypto-daily", 12, 7);
    const envelope = await hpke.seal(new TextEncoder().encode(plaintext), hpke.keyFromHex(publicKeyHex), info);
    const hex = Array.from(envelope, (b) => b.toString(16).padStart(2, "0")).join("");
    done({ envelope: hex, cid: await cid.cidForBytes(envelope), secure: window.isSecureContext });
  })
  .catch((error) => done({ error: `${error.name}: ${error.message}` }));
"""


class _StaticHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {".mjs": "text/javascript", ".js": "text/javascript", "": "text/html"}

    def do_GET(self):  # noqa: N802 (http.server's naming)
        if self.path == "/":
            # An empty page on this origin: module imports need an http(s) origin.
            body = b"<!doctype html><title>seal check</title>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def static_server():
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(_StaticHandler, directory=str(STATIC))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None, reason="chromium/chromedriver not installed"
)
def test_chromium_seals_what_python_opens(static_server):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        driver.set_script_timeout(30)
        driver.get(static_server + "/")
        private_key, public_key = generate_round_keypair()
        plaintext = "id,prediction\nn1,0.25\nn2,0.75\n"
        result = driver.execute_async_script(SEAL_IN_PAGE, public_key.hex(), plaintext)
    finally:
        driver.quit()

    assert "error" not in result, result["error"] if "error" in result else None
    assert result["secure"] is True
    envelope = bytes.fromhex(result["envelope"])
    assert result["cid"] == cid_for_bytes(envelope)
    assert (
        open_sealed(envelope, private_key, submission_info("crypto-daily", 12, 7))
        == plaintext.encode()
    )

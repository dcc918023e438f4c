"""static/js against arena_client: the browser's envelopes, info bytes and CIDs must be the
server's. Drives node (Node 20+: WebCrypto with X25519) through tests/js/bridge.mjs."""

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from arena_client.cid import cid_for_bytes
from arena_client.sealing import (
    EnvelopeAuthenticationError,
    generate_round_keypair,
    open_sealed,
    public_key_for,
    seal,
    submission_info,
)

JS_TESTS = Path(__file__).parent / "js"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

TARGET = {"tournament": "crypto-daily", "round": "12", "model_id": "7"}
INFO = submission_info("crypto-daily", 12, 7)


def run_bridge(ops: list[dict]) -> list[dict]:
    result = subprocess.run(
        [NODE, str(JS_TESTS / "bridge.mjs")],
        input=json.dumps({"ops": ops}),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def payloads() -> list[bytes]:
    rng = random.Random(5)
    return [b"", b"x", b"id,prediction\nn1,0.5\n", rng.randbytes(300_000)]


def test_node_test_suite_passes():
    # The RFC 9180 vectors and the JS unit tests; run here too so that one pytest run covers both.
    result = subprocess.run(
        [NODE, "--test", str(JS_TESTS)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout


def test_envelopes_sealed_in_js_open_in_python():
    private_key, public_key = generate_round_keypair()
    plaintexts = payloads()
    results = run_bridge(
        [
            {"op": "seal", "plaintext": p.hex(), "public_key": public_key.hex(), **TARGET}
            for p in plaintexts
        ]
    )
    for plaintext, result in zip(plaintexts, results, strict=True):
        assert result["ok"], result
        assert open_sealed(bytes.fromhex(result["value"]), private_key, INFO) == plaintext


def test_js_envelope_replayed_into_another_round_fails_in_python():
    private_key, public_key = generate_round_keypair()
    [result] = run_bridge(
        [{"op": "seal", "plaintext": "00", "public_key": public_key.hex(), **TARGET}]
    )
    with pytest.raises(EnvelopeAuthenticationError):
        open_sealed(
            bytes.fromhex(result["value"]), private_key, submission_info("crypto-daily", 13, 7)
        )


def test_envelopes_sealed_in_python_open_in_js():
    private_key, public_key = generate_round_keypair()
    plaintexts = payloads()
    ops = [
        {
            "op": "open",
            "envelope": seal(p, public_key, INFO).hex(),
            "private_key": private_key.hex(),
            **TARGET,
        }
        for p in plaintexts
    ]
    tampered = bytearray(seal(b"secret", public_key, INFO))
    tampered[-3] ^= 0x80
    ops.append(
        {"op": "open", "envelope": tampered.hex(), "private_key": private_key.hex(), **TARGET}
    )
    ops.append(
        {
            "op": "open",
            "envelope": seal(b"secret", public_key, INFO).hex(),
            "private_key": private_key.hex(),
            **(TARGET | {"model_id": "8"}),
        }
    )
    results = run_bridge(ops)
    for plaintext, result in zip(plaintexts, results, strict=False):
        assert result == {"ok": True, "value": plaintext.hex()}
    for result in results[-2:]:
        assert result["ok"] is False
        assert result["error"] == "EnvelopeAuthenticationError"


def test_fixed_js_envelope_opens_in_python(arena_vectors):
    v = arena_vectors["envelope"]
    private_key = bytes.fromhex(v["recipient_private_key"])
    assert public_key_for(private_key).hex() == v["recipient_public_key"]
    info = submission_info(v["tournament"], v["round"], v["model_id"])
    assert open_sealed(bytes.fromhex(v["envelope"]), private_key, info) == bytes.fromhex(
        v["plaintext"]
    )


def test_submission_info_bytes_agree():
    cases = [
        ("crypto-daily", 12, 7),
        ("é-ü-中文", 0, 0),
        ("x" * 255, 2**64 - 1, 2**53 + 1),
        ("a", 1, 256),
    ]
    results = run_bridge(
        [{"op": "info", "tournament": t, "round": str(r), "model_id": str(m)} for t, r, m in cases]
    )
    for (t, r, m), result in zip(cases, results, strict=True):
        assert result == {"ok": True, "value": submission_info(t, r, m).hex()}


def test_cids_agree():
    rng = random.Random(7)
    blobs = [b"", b"a", bytes(range(256)), rng.randbytes(4099)]
    results = run_bridge([{"op": "cid", "data": b.hex()} for b in blobs])
    assert [r["value"] for r in results] == [cid_for_bytes(b) for b in blobs]


def test_node_has_x25519_webcrypto():
    # Node 20 is the floor: older releases lack X25519 in WebCrypto and every test above fails.
    version = subprocess.run([NODE, "--version"], capture_output=True, text=True, check=True).stdout
    assert int(version.lstrip("v").split(".")[0]) >= 20, version

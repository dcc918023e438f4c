"""The RFC 9180 vectors the JS tests rely on, checked with Python's cryptography.

This keeps the vector file honest: if a value had been mistyped, an independent HPKE
computation would disagree here, not only the in-house JS one. Only cryptography's public
API is used (its HPKE takes no AAD, so the key schedule is spelt out on its primitives).
"""

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand


def test_vector_keys_are_consistent(rfc9180_vector):
    v = rfc9180_vector
    for secret, public in (("skEm", "pkEm"), ("skRm", "pkRm")):
        key = x25519.X25519PrivateKey.from_private_bytes(bytes.fromhex(v[secret]))
        assert key.public_key().public_bytes_raw().hex() == v[public]
    assert v["enc"] == v["pkEm"]


def _labeled_extract(suite_id: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    """RFC 9180 LabeledExtract with HKDF-SHA256: HKDF-Extract is HMAC(salt, ikm) (RFC 5869)."""
    mac = hmac.HMAC(salt or bytes(32), hashes.SHA256())
    mac.update(b"HPKE-v1" + suite_id + label + ikm)
    return mac.finalize()


def _labeled_expand(suite_id: bytes, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    labeled_info = length.to_bytes(2, "big") + b"HPKE-v1" + suite_id + label + info
    return HKDFExpand(hashes.SHA256(), length, labeled_info).derive(prk)


def test_the_vector_ciphertexts_open_with_cryptographys_primitives(rfc9180_vector):
    # cryptography's public HPKE API takes no AAD, and the vectors use one ("Count-N"): the
    # base mode's key schedule (RFC 9180, 4.1 and 5.1) is spelt out here on cryptography's
    # public X25519, HMAC, HKDF-Expand and AES-GCM, independently of the JS module.
    v = rfc9180_vector
    assert (v["mode"], v["kem_id"], v["kdf_id"], v["aead_id"]) == (0, 32, 1, 1)
    kem_suite = b"KEM" + (32).to_bytes(2, "big")
    hpke_suite = b"HPKE" + b"".join(n.to_bytes(2, "big") for n in (32, 1, 1))
    enc, pk_r = bytes.fromhex(v["enc"]), bytes.fromhex(v["pkRm"])
    recipient = x25519.X25519PrivateKey.from_private_bytes(bytes.fromhex(v["skRm"]))
    dh = recipient.exchange(x25519.X25519PublicKey.from_public_bytes(enc))
    eae_prk = _labeled_extract(kem_suite, b"", b"eae_prk", dh)
    shared_secret = _labeled_expand(kem_suite, eae_prk, b"shared_secret", enc + pk_r, 32)
    context = (
        bytes([v["mode"]])
        + _labeled_extract(hpke_suite, b"", b"psk_id_hash", b"")
        + _labeled_extract(hpke_suite, b"", b"info_hash", bytes.fromhex(v["info"]))
    )
    secret = _labeled_extract(hpke_suite, shared_secret, b"secret", b"")
    key = _labeled_expand(hpke_suite, secret, b"key", context, 16)
    base_nonce = _labeled_expand(hpke_suite, secret, b"base_nonce", context, 12)
    assert [e["sequence_number"] for e in v["encryptions"]] == list(range(len(v["encryptions"])))
    for e in v["encryptions"]:
        nonce = bytes(a ^ b for a, b in zip(base_nonce, e["sequence_number"].to_bytes(12, "big"), strict=True))
        assert nonce.hex() == e["nonce"]
        plaintext = AESGCM(key).decrypt(nonce, bytes.fromhex(e["ct"]), bytes.fromhex(e["aad"]))
        assert plaintext.hex() == e["pt"]
    assert plaintext == b"Beauty is truth, truth beauty"

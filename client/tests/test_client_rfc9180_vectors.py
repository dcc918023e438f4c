"""The RFC 9180 vectors the JS tests rely on, checked against Python's cryptography.

This keeps the vector file honest: if a value had been mistyped, an independent HPKE
implementation would disagree here, not only the in-house JS one.
"""

from cryptography.hazmat.bindings._rust import openssl as rust_openssl
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import x25519


def test_vector_keys_are_consistent(rfc9180_vector):
    v = rfc9180_vector
    for secret, public in (("skEm", "pkEm"), ("skRm", "pkRm")):
        key = x25519.X25519PrivateKey.from_private_bytes(bytes.fromhex(v[secret]))
        assert key.public_key().public_bytes_raw().hex() == v[public]
    assert v["enc"] == v["pkEm"]


def test_first_vector_ciphertext_opens_with_cryptography(rfc9180_vector):
    v = rfc9180_vector
    assert (v["mode"], v["kem_id"], v["kdf_id"], v["aead_id"]) == (0, 32, 1, 1)
    suite = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_128_GCM)
    recipient = x25519.X25519PrivateKey.from_private_bytes(bytes.fromhex(v["skRm"]))
    first = v["encryptions"][0]
    assert first["sequence_number"] == 0
    # The public single-shot API has no AAD; the vectors use one ("Count-0"). cryptography's
    # private AAD variant is the same code path with that one extra input.
    plaintext = rust_openssl.hpke._decrypt_with_aad(
        suite,
        bytes.fromhex(v["enc"]) + bytes.fromhex(first["ct"]),
        recipient,
        info=bytes.fromhex(v["info"]),
        aad=bytes.fromhex(first["aad"]),
    )
    assert plaintext.hex() == first["pt"]
    assert plaintext == b"Beauty is truth, truth beauty"

import hashlib

import pytest
from arena_client.cid import CidError, cid_digest, cid_for_bytes, cid_for_digest, parse_cid

EMPTY_CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


def test_empty_input_has_the_ipfs_name():
    assert cid_for_bytes(b"") == EMPTY_CID


def test_known_values(arena_vectors):
    for vector in arena_vectors["cid"]:
        assert cid_for_bytes(bytes.fromhex(vector["data"])) == vector["cid"]


def test_digest_round_trips():
    data = b"sealed predictions"
    cid = cid_for_bytes(data)
    assert cid_digest(cid) == hashlib.sha256(data).digest()
    assert cid_for_digest(cid_digest(cid)) == cid
    parsed = parse_cid(cid)
    assert (parsed.version, parsed.codec, parsed.hash_function) == (1, 0x55, 0x12)


def _cid_with(prefix: bytes, digest: bytes = bytes(32)) -> str:
    import base64

    return "b" + base64.b32encode(prefix + digest).decode().rstrip("=").lower()


@pytest.mark.parametrize(
    ("cid", "message"),
    [
        ("", "empty CID"),
        (
            "QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR",
            "this is a CIDv0 (base58 'Qm...'); expected a CIDv1 in base32 ('b...')",
        ),
        (
            "z" + EMPTY_CID[1:],
            "unsupported multibase prefix 'z'; expected 'b' (base32, lower case)",
        ),
        ("b" + EMPTY_CID[1:].upper(), "CID must be lower case base32"),
        ("bafkrei!", "CID is not valid base32 (alphabet a-z, 2-7)"),
        (_cid_with(bytes([0x02, 0x55, 0x12, 0x20])), "unsupported CID version 2; expected 1"),
        (
            _cid_with(bytes([0x01, 0x70, 0x12, 0x20])),
            "unsupported codec 0x70 (dag-pb); expected 0x55 (raw): add files with --raw-leaves "
            "so a single-block file is named by its bytes",
        ),
        (
            _cid_with(bytes([0x01, 0x55, 0x13, 0x40]), bytes(64)),
            "unsupported hash 0x13 (sha2-512); expected 0x12 (sha2-256)",
        ),
        (
            _cid_with(bytes([0x01, 0x55, 0x12, 0x20]), bytes(31)),
            "sha2-256 digest must be 32 bytes; header says 32, CID carries 31",
        ),
        (_cid_with(bytes([0x01, 0x55, 0x12]), b""), "CID ends inside its digest length"),
        (EMPTY_CID[:-1] + "v", "CID is not in canonical form"),
    ],
    ids=[
        "empty",
        "cidv0",
        "multibase",
        "upper",
        "alphabet",
        "version",
        "codec",
        "hash",
        "short-digest",
        "truncated",
        "non-canonical",
    ],
)
def test_parse_cid_says_what_is_wrong(cid, message):
    with pytest.raises(CidError) as caught:
        parse_cid(cid)
    assert str(caught.value) == message


def test_parse_cid_rejects_non_strings():
    with pytest.raises(CidError, match="^a CID is a string, got bytes$"):
        parse_cid(EMPTY_CID.encode())

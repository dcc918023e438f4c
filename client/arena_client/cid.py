"""Content identifiers: CIDv1, codec raw, multihash sha2-256, multibase base32 lower.

A CID names bytes by their hash, so a stored ciphertext or data set can be fetched from anywhere
and checked. The string is the one IPFS prints for ``ipfs add --cid-version=1 --raw-leaves`` of
a file that fits in one block (IPFS's default chunk is 256 KiB; a larger file becomes a UnixFS
DAG with a different root CID), and for ``ipfs block put --cid-codec=raw`` of any block.

Binary form: ``0x01`` (CID version 1) ``0x55`` (raw) ``0x12`` (sha2-256) ``0x20`` (32 bytes)
followed by the SHA-256 digest; text form: ``"b"`` + RFC 4648 base32, lower case, no padding.
Only this one canonical spelling is accepted, because CIDs are used as storage keys and two
spellings of one name would make two keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

__all__ = ["CidError", "ParsedCid", "cid_digest", "cid_for_bytes", "cid_for_digest", "parse_cid"]

CID_VERSION = 0x01
CODEC_RAW = 0x55
MULTIHASH_SHA2_256 = 0x12
DIGEST_SIZE = 32
MULTIBASE_BASE32_LOWER = "b"

_PREFIX = bytes([CID_VERSION, CODEC_RAW, MULTIHASH_SHA2_256, DIGEST_SIZE])
_KNOWN_CODECS = {0x55: "raw", 0x70: "dag-pb", 0x71: "dag-cbor", 0x0129: "dag-json"}
_KNOWN_HASHES = {0x12: "sha2-256", 0x13: "sha2-512", 0x1E: "blake3", 0xB220: "blake2b-256"}


class CidError(ValueError):
    """A string is not a CID this platform uses (CIDv1, raw, sha2-256, base32 lower)."""


@dataclass(frozen=True)
class ParsedCid:
    version: int
    codec: int
    hash_function: int
    digest: bytes


def cid_for_digest(digest: bytes) -> str:
    """Return the CID string for a SHA-256 ``digest`` of the content."""
    if len(digest) != DIGEST_SIZE:
        raise CidError(f"a sha2-256 digest is {DIGEST_SIZE} bytes, got {len(digest)}")
    encoded = base64.b32encode(_PREFIX + bytes(digest)).decode("ascii")
    return MULTIBASE_BASE32_LOWER + encoded.rstrip("=").lower()


def cid_for_bytes(data: bytes) -> str:
    """Return the CID string naming ``data``."""
    return cid_for_digest(hashlib.sha256(data).digest())


def cid_digest(cid: str) -> bytes:
    """Return the 32-byte SHA-256 digest a CID string carries."""
    return parse_cid(cid).digest


def parse_cid(cid: str) -> ParsedCid:
    """Parse and check a CID string; raise :class:`CidError` saying what is wrong with it."""
    if not isinstance(cid, str):
        raise CidError(f"a CID is a string, got {type(cid).__name__}")
    if not cid:
        raise CidError("empty CID")
    if cid.startswith("Qm") and len(cid) == 46:
        raise CidError("this is a CIDv0 (base58 'Qm...'); expected a CIDv1 in base32 ('b...')")
    if cid[0] != MULTIBASE_BASE32_LOWER:
        raise CidError(
            f"unsupported multibase prefix {cid[0]!r}; expected 'b' (base32, lower case)"
        )
    body = cid[1:]
    if body != body.lower():
        raise CidError("CID must be lower case base32")
    raw = _decode_base32(body)
    version, offset = _read_varint(raw, 0, "version")
    if version != CID_VERSION:
        raise CidError(f"unsupported CID version {version}; expected 1")
    codec, offset = _read_varint(raw, offset, "codec")
    if codec != CODEC_RAW:
        name = _KNOWN_CODECS.get(codec, "unknown")
        raise CidError(
            f"unsupported codec 0x{codec:x} ({name}); expected 0x55 (raw): "
            "add files with --raw-leaves so a single-block file is named by its bytes"
        )
    hash_function, offset = _read_varint(raw, offset, "multihash function")
    if hash_function != MULTIHASH_SHA2_256:
        name = _KNOWN_HASHES.get(hash_function, "unknown")
        raise CidError(f"unsupported hash 0x{hash_function:x} ({name}); expected 0x12 (sha2-256)")
    length, offset = _read_varint(raw, offset, "digest length")
    digest = raw[offset:]
    if length != DIGEST_SIZE or len(digest) != DIGEST_SIZE:
        raise CidError(
            f"sha2-256 digest must be {DIGEST_SIZE} bytes; header says {length}, "
            f"CID carries {len(digest)}"
        )
    # Reject non-canonical spellings (e.g. stray trailing bits) so one content has one name.
    if cid_for_digest(digest) != cid:
        raise CidError("CID is not in canonical form")
    return ParsedCid(CID_VERSION, codec, hash_function, digest)


def _decode_base32(body: str) -> bytes:
    padded = body.upper() + "=" * (-len(body) % 8)
    try:
        return base64.b32decode(padded)
    except (binascii.Error, ValueError):
        raise CidError("CID is not valid base32 (alphabet a-z, 2-7)") from None


def _read_varint(raw: bytes, offset: int, field: str) -> tuple[int, int]:
    """Read an unsigned LEB128 varint (the multiformats encoding)."""
    value = 0
    for shift in range(0, 63, 7):
        if offset >= len(raw):
            raise CidError(f"CID ends inside its {field}")
        byte = raw[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, offset
    raise CidError(f"CID {field} varint is too long")

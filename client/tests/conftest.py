import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def rfc9180_vector() -> dict:
    return json.loads((DATA / "rfc9180_x25519_base.json").read_text())


@pytest.fixture(scope="session")
def arena_vectors() -> dict:
    return json.loads((DATA / "arena_vectors.json").read_text(encoding="utf-8"))

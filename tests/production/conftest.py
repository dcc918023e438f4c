"""The production suite runs against real processes (see stack.py). It needs PostgreSQL and
Redis; without them it is skipped with the reason, never faked."""

import pytest

from tests.production.stack import services_missing


def pytest_collection_modifyitems(config, items):
    missing = None
    checked = False
    for item in items:
        if "production" not in item.keywords:
            continue
        if not checked:
            missing, checked = services_missing(), True
        if missing:
            item.add_marker(pytest.mark.skip(reason=f"production profile unavailable: {missing}"))

"""The process's one gateway, built from settings, and the dev wallets of the embedded chain.

py-evm is not thread-safe and one process must own the operator's nonces, so every use goes
through `use_gateway()`, which serialises callers with a lock.
"""

import fcntl
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

from chain.gateway import ChainGateway

_lock = threading.RLock()
_gateway: ChainGateway | None = None


class ChainDisabled(RuntimeError):
    pass


class ChainBusy(RuntimeError):
    """Another process owns the embedded chain's journal (only one may write it)."""


_state_lock_file = None


def _own_state_dir(state_dir: Path) -> None:
    """Take an exclusive lock on the embedded chain's directory for this process's life."""
    global _state_lock_file
    state_dir.mkdir(parents=True, exist_ok=True)
    handle = open(state_dir / ".owner.lock", "a+")  # noqa: SIM115 - held open on purpose
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise ChainBusy(
            f"the embedded chain in {state_dir} is in use by another process (is `manage.py up` running?)"
        ) from None
    if _state_lock_file is not None:
        _state_lock_file.close()
    _state_lock_file = handle


def chain_enabled() -> bool:
    return settings.ARENA_CHAIN in ("embedded", "rpc")


def contract_build_cache() -> Path:
    return Path(settings.VAR_DIR) / "contract-build"


def _build() -> ChainGateway:
    cache = contract_build_cache()
    if settings.ARENA_CHAIN == "embedded":
        state_dir = Path(settings.CHAIN_STATE_DIR)
        _own_state_dir(state_dir)
        return ChainGateway.in_process(state_dir=state_dir, build_cache_dir=cache)
    if settings.ARENA_CHAIN == "rpc":
        if not settings.CHAIN_OPERATOR_KEY:
            raise ChainDisabled("CHAIN_RPC_URL is set but CHAIN_OPERATOR_KEY is not")
        if not (settings.CHAIN_TOKEN_ADDRESS and settings.CHAIN_STAKING_ADDRESS):
            # Every process (web, worker, beat) must talk to the same contracts: deploying
            # here would give each its own. Deploy once, then configure all of them.
            raise ChainDisabled(
                "CHAIN_RPC_URL is set but CHAIN_TOKEN_ADDRESS / CHAIN_STAKING_ADDRESS are not: "
                "run `manage.py chain deploy` once and set the two addresses it prints"
            )
        return ChainGateway.rpc(
            settings.CHAIN_RPC_URL,
            settings.CHAIN_OPERATOR_KEY,
            token_address=settings.CHAIN_TOKEN_ADDRESS,
            staking_address=settings.CHAIN_STAKING_ADDRESS,
            poll_interval=settings.CHAIN_POLL_INTERVAL,
            build_cache_dir=cache,  # compiled once, shared by every process on this machine
        )
    raise ChainDisabled(f"ARENA_CHAIN={settings.ARENA_CHAIN!r}: the chain is switched off")


@contextmanager
def use_gateway() -> Iterator[ChainGateway]:
    global _gateway
    with _lock:
        if _gateway is None:
            gateway = _build()
            for key_hex in dev_keyring().all().values():
                gateway.add_account(key_hex)  # custodial dev wallets sign again after a restart
            _gateway = gateway
        yield _gateway


def reset_gateway() -> None:
    """Forget the process's gateway (tests; `up` after wiping a stale chain)."""
    global _gateway
    with _lock:
        _gateway = None


def is_dev_chain(gateway: ChainGateway) -> bool:
    """May the platform mint, fund custodial wallets and move block time on this chain?"""
    return gateway.backend == "in-process" or bool(settings.CHAIN_DEV)


class DevKeyring:
    """Private keys of custodial dev wallets, kept in var/ (mode 0600), never in the DB."""

    def __init__(self, path: Path):
        self.path = path

    def _load(self) -> dict[str, str]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def add(self, address: str, key_hex: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Web and worker processes may add keys at the same time: serialise read-modify-write.
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            keys = self._load()
            keys[address] = key_hex
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(keys))
            tmp.chmod(0o600)
            tmp.replace(self.path)

    def all(self) -> dict[str, str]:
        return self._load()


def dev_keyring() -> DevKeyring:
    return DevKeyring(Path(settings.CHAIN_STATE_DIR) / "dev_wallet_keys.json")

"""Start and stop a local anvil JSON-RPC node (npm package @foundry-rs/anvil, pinned in package.json).

The binary is the one npm unpacks under node_modules/@foundry-rs/anvil-<os>-<arch>/bin/; the
package's Node wrapper is bypassed so no Node process sits between us and the node. Each node
gets a random mnemonic (no key is ever written into the repo) and reports its dev keys
through anvil's ``--config-out`` file.

No web3 here: readiness is checked with a plain JSON-RPC request over urllib.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

REPO_ROOT = Path(__file__).resolve().parent.parent
ANVIL_BIN_ENV = "ARENA_ANVIL_BIN"


class AnvilNotInstalled(RuntimeError):
    """The anvil binary is missing; the message says how to install it."""


def _platform_package() -> str:
    system = {"Linux": "linux", "Darwin": "darwin", "Windows": "win32"}.get(platform.system(), "")
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        machine, ""
    )
    return f"anvil-{system}-{arch}"


def anvil_binary(repo_root: Path = REPO_ROOT) -> Path:
    """Path of the anvil executable; ``ARENA_ANVIL_BIN`` overrides the npm location."""
    override = os.environ.get(ANVIL_BIN_ENV)
    if override:
        path = Path(override)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise AnvilNotInstalled(f"{ANVIL_BIN_ENV}={override} is not an executable file")
    name = "anvil.exe" if platform.system() == "Windows" else "anvil"
    path = repo_root / "node_modules" / "@foundry-rs" / _platform_package() / "bin" / name
    if path.is_file() and os.access(path, os.X_OK):
        return path
    raise AnvilNotInstalled(
        f"anvil binary not found at {path}. Run `npm ci` in {repo_root} "
        "(package.json pins @foundry-rs/anvil)."
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def rpc_request(url: str, method: str, params: list | None = None, timeout: float = 2.0) -> object:
    """One JSON-RPC call; returns ``result`` or raises RuntimeError with the node's error."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []})
    request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        reply = json.loads(response.read())
    if "error" in reply:
        raise RuntimeError(f"{method}: {reply['error']}")
    return reply["result"]


@dataclass
class AnvilNode:
    """A running anvil process; use as a context manager or call ``stop()``."""

    url: str
    port: int
    process: subprocess.Popen
    accounts: list[str] = field(default_factory=list)
    private_keys: list[str] = field(default_factory=list, repr=False)
    _workdir: Path | None = field(default=None, repr=False)

    @property
    def chain_id(self) -> int:
        return int(rpc_request(self.url, "eth_chainId"), 16)

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the process (kill after ``timeout``) and remove its temp files."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> AnvilNode:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_anvil(
    *,
    port: int | None = None,
    accounts: int = 10,
    hardfork: str = "prague",
    startup_timeout: float = 20.0,
    binary: Path | None = None,
    extra_args: tuple[str, ...] = (),
) -> AnvilNode:
    """Start anvil on 127.0.0.1 (a free port unless given) and wait until it answers.

    Raises AnvilNotInstalled if the binary is missing, RuntimeError if the node exits or
    does not answer within ``startup_timeout`` seconds (its output is in the message).
    """
    executable = binary or anvil_binary()
    port = port or free_port()
    workdir = Path(tempfile.mkdtemp(prefix="arena-anvil-"))
    config_path = workdir / "anvil.json"
    log_path = workdir / "anvil.log"
    command = [
        str(executable),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--hardfork", hardfork,
        "--accounts", str(accounts),
        "--mnemonic-random",
        "--config-out", str(config_path),
        *extra_args,
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    node = AnvilNode(url=url, port=port, process=process, _workdir=workdir)
    deadline = time.monotonic() + startup_timeout
    while True:
        if process.poll() is not None:
            output = log_path.read_text(errors="replace")[-2000:]
            node.stop()
            raise RuntimeError(f"anvil exited with code {process.returncode}:\n{output}")
        try:
            rpc_request(url, "eth_chainId", timeout=1.0)
            if config_path.exists():
                config = json.loads(config_path.read_text())
                break
        except (urllib.error.URLError, ConnectionError, OSError, json.JSONDecodeError):
            pass
        if time.monotonic() > deadline:
            output = log_path.read_text(errors="replace")[-2000:]
            node.stop()
            raise RuntimeError(
                f"anvil did not answer on {url} within {startup_timeout}s:\n{output}"
            )
        time.sleep(0.1)
    node.accounts = list(config["available_accounts"])
    node.private_keys = list(config["private_keys"])
    return node

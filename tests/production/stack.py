"""The production profile as real processes: a fresh PostgreSQL database, a Redis database of
its own, the ASGI server (`daphne config.asgi:application`, or `uvicorn` with N worker
processes), `celery -A config worker` and `celery -A config beat`, each on this machine's free
ports, each with the same env vars an operator would set.

Used by the production suite (tests/production/) and the load scripts (tests/load/). Every
process is started here in its own session and stopped here by its process-group id.
"""

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_BASE_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
# Redis databases the suites may claim (an empty one, locked while in use), so two runs on
# one machine — or another project's data in db 0 — never share queues; pub/sub channels
# ignore the database number, so each stack's channel layer also gets a prefix of its own.
REDIS_DBS = range(8, 16)
LOCK_KEY = "arena:test-stack:lock"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def uvicorn_argv(uvicorn_bin: str, host: str, port: int, workers: int) -> list[str]:
    """uvicorn as README's Production section runs it: `workers` processes sharing the
    socket, the C HTTP parser (httptools) and event loop (uvloop); no lifespan protocol
    (Channels' router has none) and no access log (the proxy keeps one; daphne writes none
    by default either)."""
    return [
        uvicorn_bin, "config.asgi:application", "--host", host, "--port", str(port),
        "--workers", str(workers), "--http", "httptools", "--loop", "uvloop",
        "--lifespan", "off", "--no-access-log",
    ]


def descendants(pids: list[int]) -> list[int]:
    """`pids` and every live process below them, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], list(pids)
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def services_missing() -> str | None:
    """Why the production profile cannot run here, or None when PostgreSQL and Redis answer."""
    try:
        psycopg.connect(PG_ADMIN_URL, connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"PostgreSQL does not answer at {PG_ADMIN_URL}: {exc}".strip()
    return redis_missing()


def redis_missing() -> str | None:
    """Why Redis cannot be used here, or None when it answers at REDIS_BASE_URL."""
    try:
        redis.Redis.from_url(REDIS_BASE_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        return f"Redis does not answer at {REDIS_BASE_URL}: {exc}"
    return None


def _claim_redis_db(token: str) -> int:
    for db in REDIS_DBS:
        client = redis.Redis.from_url(f"{REDIS_BASE_URL}/{db}")
        # Empty, and the lock is ours (expires on its own if a run dies without cleaning up).
        if client.dbsize() == 0 and client.set(LOCK_KEY, token, nx=True, ex=3600):
            return db
    raise RuntimeError(f"no empty Redis database among {list(REDIS_DBS)} at {REDIS_BASE_URL}")


@dataclass
class Stack:
    """A running production profile. `stop()` ends every process and drops the data."""

    workdir: Path
    db_name: str
    redis_db: int
    env: dict[str, str]
    port: int = 0
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    anvil: Any = None  # the chain node, when the stack settles on-chain

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def database_url(self) -> str:
        return self.env["DATABASE_URL"]

    @property
    def redis_url(self) -> str:
        return self.env["REDIS_URL"]

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def manage(self, *args: str, timeout: float = 180) -> str:
        """`manage.py <args>` with the stack's env; returns stdout, raises with stderr."""
        proc = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{proc.stderr[-4000:]}")
        return proc.stdout

    def python(self, code: str, timeout: float = 180) -> str:
        """Run Django code in a fresh process against the stack's database (setup only)."""
        return self.manage("shell", "-c", code, timeout=timeout)

    def start(self, name: str, argv: list[str], extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        out = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115 - lives as long as the process
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=self.env | (extra_env or {}), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: celery's children stop with it
        )
        self.procs[name] = proc
        return proc

    daphne_bin = str(Path(sys.executable).with_name("daphne"))
    uvicorn_bin = str(Path(sys.executable).with_name("uvicorn"))

    def start_daphne(self) -> None:
        self.port = free_port()
        self.start(
            "daphne",
            [self.daphne_bin, "-b", "127.0.0.1", "-p", str(self.port), "config.asgi:application"],
        )

    def start_uvicorn(self, workers: int = 1, name: str = "uvicorn") -> int:
        """uvicorn with `workers` processes on one port (README, Production: the command an
        operator runs); its port becomes the stack's when no server was started before."""
        port = free_port()
        self.start(name, uvicorn_argv(self.uvicorn_bin, "127.0.0.1", port, workers))
        self.port = self.port or port
        return port

    def start_servers(self, kind: str, processes: int = 1, prefix: str = "") -> list[int]:
        """`processes` ASGI server processes of `kind` ("daphne": one process per port, as
        behind a proxy; "uvicorn": one port, its worker processes share the socket). Returns
        the ports; their processes are `server_pids(prefix + kind)`."""
        if kind == "uvicorn":
            return [self.start_uvicorn(workers=processes, name=f"{prefix}uvicorn")]
        if kind != "daphne":
            raise ValueError(f"unknown ASGI server {kind!r}")
        ports = []
        for n in range(1, processes + 1):
            port = free_port()
            argv = [self.daphne_bin, "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"]
            self.start(f"{prefix}daphne" + (f"-{n}" if n > 1 else ""), argv)
            ports.append(port)
        self.port = self.port or ports[0]
        return ports

    def server_pids(self, prefix: str) -> list[int]:
        """The processes started under names beginning with `prefix`, with every process they
        started (uvicorn's workers), alive now."""
        roots = [p.pid for name, p in self.procs.items() if name.startswith(prefix) and p.poll() is None]
        return descendants(roots)

    def stop_process(self, name: str) -> None:
        """Stop one started process (and its process group) before the others."""
        proc = self.procs.pop(name)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)

    def start_worker(
        self, concurrency: int = 2, name: str = "worker", extra_env: dict[str, str] | None = None
    ) -> None:
        self.start(
            name,
            [str(Path(sys.executable).with_name("celery")), "-A", "config", "worker",
             "--loglevel=info", f"--concurrency={concurrency}", "--without-gossip",
             "--without-mingle", "--without-heartbeat", "-n", f"arena-test-{self.redis_db}@%h"],
            extra_env,
        )

    def start_beat(self) -> None:
        self.start(
            "beat",
            [str(Path(sys.executable).with_name("celery")), "-A", "config", "beat",
             "--loglevel=info", "--schedule", str(self.workdir / "beat-schedule")],
        )

    def wait_http(self, timeout: float = 60, ports: list[int] | None = None) -> None:
        """Wait until the ASGI server answers (on each of `ports`, default the stack's port):
        a process's first request also loads the URLconf and the API modules."""
        deadline = time.monotonic() + timeout
        for port in ports or [self.port]:
            while True:
                self.check_alive()
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/api/tournaments", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    logs = "".join(
                        f"--- {name} ---\n{self.log(name)[-3000:]}\n"
                        for name in self.procs if name.startswith(("daphne", "uvicorn"))
                    )
                    raise TimeoutError(f"the ASGI server on port {port} did not answer within {timeout} s:\n{logs}")
                time.sleep(0.2)

    def wait_worker(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            if "ready." in self.log("worker"):
                return
            time.sleep(0.2)
        raise TimeoutError(f"the celery worker was not ready within {timeout} s:\n{self.log('worker')[-3000:]}")

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with {proc.returncode}:\n{self.log(name)[-4000:]}"
                )

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        self.procs.clear()
        if self.anvil is not None:
            self.anvil.stop()
            self.anvil = None
        client = redis.Redis.from_url(self.redis_url)
        client.flushdb()  # also releases the lock key
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')


def create_stack(workdir: Path, *, tick_seconds: float = 0.5, extra_env: dict | None = None) -> Stack:
    """Create the database (migrated) and claim a Redis db; start no process yet."""
    token = secrets.token_hex(8)
    db_name = f"arena_stack_{token}"
    redis_db = _claim_redis_db(token)
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db_name}"')
    var = workdir / "var"
    var.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db_name}",
            "REDIS_URL": f"{REDIS_BASE_URL}/{redis_db}",
            "ARENA_CHANNEL_PREFIX": f"arena-test-{redis_db}",
            # Pooled connections (README, Production): a burst of requests must queue for a
            # connection, not exhaust PostgreSQL's connection limit.
            "DB_POOL_MAX_SIZE": "16",
            "DEBUG": "0",
            "SECURE_SSL_REDIRECT": "0",  # plain HTTP on 127.0.0.1: no TLS proxy in front
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "ARENA_VAR_DIR": str(var),  # blobs: the "shared storage" every process sees
            "ARENA_KEY_ENCRYPTION_KEY": secrets.token_hex(32),
            "ARENA_RECEIPT_SIGNING_KEY": secrets.token_hex(32),
            "ARENA_TICK_SECONDS": str(tick_seconds),
            "ARENA_LOG_LEVEL": "INFO",
            # Every process settles on one real JSON-RPC node (anvil) when its binary is
            # installed (`npm ci`); ARENA_STACK_CHAIN=off leaves the chain out.
            "ARENA_CHAIN": "off",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra_env or {})
    stack = Stack(workdir=workdir, db_name=db_name, redis_db=redis_db, env=env)
    try:
        if os.environ.get("ARENA_STACK_CHAIN", "rpc") == "rpc" and anvil_available():
            _attach_chain(stack)
        stack.manage("migrate", "--noinput")
    except Exception:
        stack.stop()
        raise
    return stack


def anvil_available() -> bool:
    from chain.anvil import AnvilNotInstalled, anvil_binary

    try:
        anvil_binary()
    except AnvilNotInstalled:
        return False
    return True


def _attach_chain(stack: Stack) -> None:
    """Start anvil, deploy the contracts once, and point every process at them."""
    from chain.anvil import start_anvil

    stack.anvil = start_anvil()
    stack.env.update(
        {
            "ARENA_CHAIN": "rpc",
            "CHAIN_RPC_URL": stack.anvil.url,
            "CHAIN_OPERATOR_KEY": stack.anvil.private_keys[0],
            "CHAIN_DEV": "1",  # a dev node: custodial wallets, test tokens, block time moves
            "CHAIN_CONFIRMATIONS": "0",
            "CHAIN_CHALLENGE_WINDOW": "2",
            "CHAIN_POLL_INTERVAL": "0.05",
        }
    )
    deployment = json.loads(
        stack.manage("chain", "deploy", "--dev-chain", "--json").strip().splitlines()[-1]
    )
    stack.env["CHAIN_TOKEN_ADDRESS"] = deployment["token"]
    stack.env["CHAIN_STAKING_ADDRESS"] = deployment["staking"]


def create_users_with_keys(stack: Stack, spec: dict[str, list[str]]) -> dict[str, str]:
    """{username: [scopes]} → {username: raw API key}. Users are made directly in the
    database (signing up is the site's business, tested elsewhere); everything after this
    goes through the API."""
    code = (
        "import json\n"
        "from django.contrib.auth.models import User\n"
        "from accounts.services import api_key_create\n"
        f"spec = json.loads({json.dumps(json.dumps(spec))})\n"
        "keys = {}\n"
        "for name, scopes in spec.items():\n"
        "    user = User.objects.create_user(username=name, password=None)\n"
        "    keys[name] = api_key_create(user=user, name='stack', scopes=scopes).raw_key\n"
        "print('KEYS=' + json.dumps(keys))\n"
    )
    out = stack.python(code)
    line = next(line for line in out.splitlines() if line.startswith("KEYS="))
    return json.loads(line.removeprefix("KEYS="))


def post_tournament(
    sponsor: httpx.Client, *, slug: str, name: str, opens_in: float, window: int, score_days: int,
    threshold_tokens: str = "100",
) -> None:
    """Create a tournament through the API as a sponsor does: a 1,000-token pool, its first
    round `opens_in` seconds from now, `window` s to submit, score days a second apart."""
    response = sponsor.post(
        "/api/tournaments",
        json={
            "name": name,
            "slug": slug,
            "reward_pool_tokens": "1000",
            "schedule": {
                "first_round_at": (datetime.now(UTC) + timedelta(seconds=opens_in)).isoformat(),
                "round_interval": 3600,
                "submission_window": window,
                "resolution_lag": 1,
                "score_days": score_days,
                "score_day_interval": 1,
            },
            "rules": {"payout_threshold_tokens": threshold_tokens, "payout_cap": 0.05},
        },
    )
    assert response.status_code == 201, response.text

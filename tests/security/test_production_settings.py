"""DEBUG=0 refuses to start without its secrets; the embedded profile's generated secrets
are private (mode 0600) from the moment their names exist.

Settings are read once per process, so each case starts Python afresh with the environment
under test, in a var/ folder of its own.
"""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRETS = ("SECRET_KEY", "ARENA_KEY_ENCRYPTION_KEY", "ARENA_RECEIPT_SIGNING_KEY")
GENERATED = ("secret_key", "key_encryption_key", "receipt_signing_key")
ADVICE = (
    ". Set each in the environment of every process (web, worker, beat), the same value "
    "everywhere; make a key with python -c 'import secrets; print(secrets.token_hex(32))'."
)


def production_env() -> dict[str, str]:
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ARENA_KEY_ENCRYPTION_KEY": secrets.token_hex(32),
        "ARENA_RECEIPT_SIGNING_KEY": secrets.token_hex(32),
    }


def django_setup(var: Path, env: dict[str, str], *, umask: int | None = None, code: str = "") -> subprocess.CompletedProcess:
    """`import django; django.setup()` (then `code`) in a fresh process with only `env` set
    among the variables that choose the profile."""
    base = {
        k: v for k, v in os.environ.items()
        if k not in {"DEBUG", "DATABASE_URL", "REDIS_URL", *SECRETS}
    }
    base |= {"DJANGO_SETTINGS_MODULE": "config.settings", "ARENA_VAR_DIR": str(var)} | env
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup()\n{code}"],
        cwd=ROOT, env=base, capture_output=True, text=True, timeout=120,
        preexec_fn=None if umask is None else (lambda: os.umask(umask)),
    )


def refusal(result: subprocess.CompletedProcess) -> str:
    """The ImproperlyConfigured line of a refused start."""
    assert result.returncode != 0, result.stdout
    lines = [line for line in result.stderr.splitlines() if line.startswith("django.core.exceptions.ImproperlyConfigured: ")]
    assert len(lines) == 1, result.stderr[-3000:]
    return lines[0].removeprefix("django.core.exceptions.ImproperlyConfigured: ")


def test_production_without_any_secret_names_all_three_and_generates_nothing(tmp_path):
    result = django_setup(tmp_path, {"DEBUG": "0"})
    assert refusal(result) == (
        "DEBUG=0 (production) refuses to start without SECRET_KEY, ARENA_KEY_ENCRYPTION_KEY, "
        "ARENA_RECEIPT_SIGNING_KEY" + ADVICE
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("missing", [
    ("SECRET_KEY",),
    ("ARENA_KEY_ENCRYPTION_KEY",),
    ("ARENA_RECEIPT_SIGNING_KEY",),
    ("SECRET_KEY", "ARENA_RECEIPT_SIGNING_KEY"),
])
def test_production_names_exactly_the_missing_secrets(tmp_path, missing):
    env = {"DEBUG": "0"} | {k: v for k, v in production_env().items() if k not in missing}
    assert refusal(django_setup(tmp_path, env)) == (
        f"DEBUG=0 (production) refuses to start without {', '.join(missing)}" + ADVICE
    )
    assert list(tmp_path.iterdir()) == []


def test_a_blank_secret_counts_as_missing(tmp_path):
    env = {"DEBUG": "0"} | production_env() | {"SECRET_KEY": "   "}
    assert refusal(django_setup(tmp_path, env)) == (
        "DEBUG=0 (production) refuses to start without SECRET_KEY" + ADVICE
    )


def test_production_refuses_keys_that_are_not_32_bytes_of_hex_with_the_missing_ones(tmp_path):
    env = {"DEBUG": "0", "ARENA_KEY_ENCRYPTION_KEY": "changeme", "ARENA_RECEIPT_SIGNING_KEY": "ab" * 31}
    assert refusal(django_setup(tmp_path, env)) == (
        "DEBUG=0 (production) refuses to start without SECRET_KEY; it needs "
        "ARENA_KEY_ENCRYPTION_KEY and ARENA_RECEIPT_SIGNING_KEY to be 64 hex digits (32 bytes)"
        + ADVICE
    )


def test_manage_py_refuses_with_the_same_message(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DATABASE_URL", "REDIS_URL", *SECRETS}}
    env |= {"DEBUG": "0", "ARENA_VAR_DIR": str(tmp_path), "SECRET_KEY": secrets.token_urlsafe(50)}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert refusal(result) == (
        "DEBUG=0 (production) refuses to start without ARENA_KEY_ENCRYPTION_KEY, "
        "ARENA_RECEIPT_SIGNING_KEY" + ADVICE
    )


def test_production_with_its_secrets_starts_and_uses_them(tmp_path):
    env = {"DEBUG": "0"} | production_env()
    result = django_setup(
        tmp_path, env,
        code="from django.conf import settings as s; print(s.SECRET_KEY, s.ARENA_KEY_ENCRYPTION_KEY, s.ARENA_RECEIPT_SIGNING_KEY)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [env[name] for name in SECRETS]
    assert list(tmp_path.iterdir()) == []  # nothing generated in production


def test_embedded_profile_generates_each_secret_with_mode_0600_even_under_umask_0(tmp_path):
    # umask 0 would leave a file made with default permissions world-readable (0666).
    read = "from django.conf import settings as s; print(s.SECRET_KEY, s.ARENA_KEY_ENCRYPTION_KEY, s.ARENA_RECEIPT_SIGNING_KEY)"
    first = django_setup(tmp_path, {}, umask=0, code=read)
    assert first.returncode == 0, first.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(GENERATED)  # no temp file left
    for name in GENERATED:
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600, name
    secret_key, kek, signing = first.stdout.split()
    assert re.fullmatch(r"[A-Za-z0-9_-]{67}", secret_key)  # token_urlsafe(50)
    assert re.fullmatch(r"[0-9a-f]{64}", kek) and re.fullmatch(r"[0-9a-f]{64}", signing)
    assert kek != signing
    again = django_setup(tmp_path, {}, code=read)
    assert again.stdout == first.stdout  # generated once, then read


def test_an_existing_secret_readable_by_others_is_made_private(tmp_path):
    (tmp_path / "secret_key").write_text("an-old-secret\n")
    (tmp_path / "secret_key").chmod(0o644)
    result = django_setup(tmp_path, {}, code="from django.conf import settings; print(settings.SECRET_KEY)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "an-old-secret"
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_a_generated_secret_is_private_and_complete_before_its_name_appears(tmp_path, monkeypatch):
    """The name is hard-linked to a finished temp file created 0600: at no moment can another
    process find the name with partial content or with loose permissions."""
    from config import settings as config_settings

    monkeypatch.setattr(config_settings, "VAR_DIR", tmp_path)
    seen = []
    real_link = os.link

    def watching_link(src, dst):
        seen.append((Path(dst).exists(), os.stat(src).st_mode & 0o777, Path(src).read_text()))
        real_link(src, dst)

    monkeypatch.setattr(config_settings.os, "link", watching_link)
    old_umask = os.umask(0)
    try:
        value = config_settings._generated_secret("test_secret", lambda: "s3cret-value")
    finally:
        os.umask(old_umask)
    assert value == "s3cret-value"
    assert seen == [(False, 0o600, "s3cret-value")]
    assert [p.name for p in tmp_path.iterdir()] == ["test_secret"]


def test_the_process_that_loses_the_race_reads_the_winners_secret(tmp_path, monkeypatch):
    from config import settings as config_settings

    monkeypatch.setattr(config_settings, "VAR_DIR", tmp_path)
    real_link = os.link

    def another_process_wins(src, dst):
        Path(dst).write_text("the-winners-secret")  # appeared between our check and our link
        real_link(src, dst)

    monkeypatch.setattr(config_settings.os, "link", another_process_wins)
    assert config_settings._generated_secret("raced", lambda: "ours") == "the-winners-secret"
    assert [p.name for p in tmp_path.iterdir()] == ["raced"]  # our temp file is gone


BIN = Path(sys.executable).parent


@pytest.mark.parametrize("argv", [
    [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", "0", "config.asgi:application"],
    [str(BIN / "uvicorn"), "config.asgi:application", "--port", "0", "--lifespan", "off"],
    [str(BIN / "celery"), "-A", "config", "worker", "--loglevel=info"],
    [str(BIN / "celery"), "-A", "config", "beat", "--loglevel=info"],
    [sys.executable, "manage.py", "migrate", "--noinput"],
], ids=["daphne", "uvicorn", "celery-worker", "celery-beat", "migrate"])
def test_every_production_process_refuses_to_start_without_its_secrets(tmp_path, argv):
    """The commands README's Production section runs, each with one secret left out: each
    exits at once with the message, before it serves, works or migrates anything."""
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DATABASE_URL", "REDIS_URL", *SECRETS}}
    env |= {"DEBUG": "0", "ARENA_VAR_DIR": str(tmp_path), "SECRET_KEY": secrets.token_urlsafe(50),
            "ARENA_KEY_ENCRYPTION_KEY": secrets.token_hex(32),
            # Unreachable on purpose: a process that got past the settings would hang or fail
            # differently, not with the message.
            "DATABASE_URL": "postgres://nobody@127.0.0.1:9/none", "REDIS_URL": "redis://127.0.0.1:9/0"}
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert (
        "django.core.exceptions.ImproperlyConfigured: DEBUG=0 (production) refuses to start "
        "without ARENA_RECEIPT_SIGNING_KEY" + ADVICE
    ) in result.stdout + result.stderr

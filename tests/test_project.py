"""Project-wide guarantees: every model has an admin, production settings pass Django's
deployment checks, and migrations match the models."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.apps import apps
from django.contrib import admin

ROOT = Path(__file__).resolve().parents[1]
OUR_APPS = {"accounts", "tournaments", "live", "chain", "dex", "demo"}


def test_every_model_of_ours_is_in_the_admin():
    missing = [
        f"{model._meta.app_label}.{model.__name__}"
        for model in apps.get_models()
        if model._meta.app_label in OUR_APPS and not admin.site.is_registered(model)
    ]
    assert missing == []


def _manage(*args: str, env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DEBUG")}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_passes_with_production_settings(tmp_path):
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING",
        env_extra={
            "DEBUG": "0",
            "SECRET_KEY": "x" * 20 + "production-secret-from-the-environment-0123456789",
            # Generated per run: production refuses to start without them (config/settings.py).
            "ARENA_KEY_ENCRYPTION_KEY": secrets.token_hex(32),
            "ARENA_RECEIPT_SIGNING_KEY": secrets.token_hex(32),
            "ALLOWED_HOSTS": "arena.example.org",
            "DATABASE_URL": "postgres://arena@db.internal:5432/arena",
            "REDIS_URL": "redis://cache.internal:6379/0",
            "ARENA_VAR_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_fails_loudly_with_debug_on(tmp_path):
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env_extra={"ARENA_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "DEBUG" in result.stderr + result.stdout


def test_migrations_match_the_models(tmp_path):
    result = _manage("makemigrations", "--check", "--dry-run", env_extra={"ARENA_VAR_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr

"""Where the client keeps its state: the saved login, receipts, cached live data.

``$ARENA_HOME`` puts everything under one directory (handy for scripts and tests); otherwise
the platform's usual places (platformdirs): the login in the user config dir, receipts in the
user data dir, downloads for ``arena submit`` in the user cache dir.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import platformdirs

APP = "arena"
CONFIG_FILE = "config.json"


def _home() -> Path | None:
    home = os.environ.get("ARENA_HOME")
    return Path(home) if home else None


def config_dir() -> Path:
    return (_home() or Path(platformdirs.user_config_dir(APP))).resolve()


def data_dir() -> Path:
    home = _home()
    return (home / "data" if home else Path(platformdirs.user_data_dir(APP))).resolve()


def cache_dir() -> Path:
    home = _home()
    return (home / "cache" if home else Path(platformdirs.user_cache_dir(APP))).resolve()


@dataclass
class Login:
    """What `arena login` saves: the server, the API key, and the receipt key seen then."""

    server: str
    api_key: str
    username: str = ""
    receipt_public_key: str = ""  # pinned at login; a later change is reported


def config_path() -> Path:
    return config_dir() / CONFIG_FILE


def load_login() -> Login | None:
    path = config_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read {path}: {error}") from None
    known = {k: v for k, v in data.items() if k in Login.__dataclass_fields__}
    if not known.get("server") or not known.get("api_key"):
        return None
    return Login(**known)


def save_login(login: Login) -> Path:
    """Write the login readable by its owner only (mode 0600, created that way: the key is
    never on disk with wider permissions, not even for a moment)."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(asdict(login), fh, indent=2)
            fh.write("\n")
        os.chmod(tmp, 0o600)  # in case the file existed with other bits
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path

"""Arena settings: one env-driven module.

With no environment variables the embedded profile runs: SQLite under var/, in-memory
channel layer, Celery tasks executed in-process, files under var/, in-process chain.
Setting DATABASE_URL / REDIS_URL / SECRET_KEY / ALLOWED_HOSTS / DEBUG=0 switches to the
production profile piece by piece (see README "Production"). DEBUG=0 fails closed: it
refuses to start without SECRET_KEY, ARENA_KEY_ENCRYPTION_KEY and ARENA_RECEIPT_SIGNING_KEY.
"""

import os
import secrets
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if not raw:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


BASE_DIR = Path(__file__).resolve().parent.parent

# --- Local state -------------------------------------------------------------------------
# Everything the embedded profile writes (database, blobs, generated keys) lives here.
VAR_DIR = Path(os.environ.get("ARENA_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)
BLOB_DIR = Path(os.environ.get("ARENA_BLOB_DIR", VAR_DIR / "blobs"))


def _generated_secret(filename: str, make: Callable[[], str]) -> str:
    """A secret made by `make()` once into var/ (git-ignored), for the embedded profile only.

    Written to a private temp file created with mode 0600 (never readable by others, not
    even for a moment) and hard-linked into place: the name appears with its full content
    or not at all, so processes starting together all read the same secret.
    """
    path = VAR_DIR / filename
    if not path.exists():
        tmp = VAR_DIR / f".{filename}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(make())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process won the race; use its secret
        finally:
            tmp.unlink()
    elif path.stat().st_mode & 0o077:
        path.chmod(0o600)  # made by an older version, or copied in carelessly
    return path.read_text().strip()


# Production fails closed: a secret generated on each machine would differ between web
# processes (sessions and receipts one signs, another rejects), and a key-encryption key
# lost with var/ loses every round's private key. With DEBUG=0 each must come from the
# environment; nothing is generated.
PRODUCTION_SECRETS = ("SECRET_KEY", "ARENA_KEY_ENCRYPTION_KEY", "ARENA_RECEIPT_SIGNING_KEY")
HEX_KEYS = ("ARENA_KEY_ENCRYPTION_KEY", "ARENA_RECEIPT_SIGNING_KEY")  # 32 bytes each


def _is_key_hex(value: str) -> bool:
    try:
        return len(bytes.fromhex(value.strip())) == 32
    except ValueError:
        return False


def _refuse_production_without_secrets() -> None:
    """One error naming every missing secret (and every malformed key), not the first."""
    missing = [name for name in PRODUCTION_SECRETS if not os.environ.get(name, "").strip()]
    malformed = [n for n in HEX_KEYS if n not in missing and not _is_key_hex(os.environ[n])]
    problems = []
    if missing:
        problems.append(f"refuses to start without {', '.join(missing)}")
    if malformed:
        problems.append(f"needs {' and '.join(malformed)} to be 64 hex digits (32 bytes)")
    if problems:
        raise ImproperlyConfigured(
            f"DEBUG=0 (production) {'; it '.join(problems)}. Set each in the environment of "
            "every process (web, worker, beat), the same value everywhere; make a key with "
            "python -c 'import secrets; print(secrets.token_hex(32))'."
        )


# --- Core --------------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", True)
if not DEBUG:
    _refuse_production_without_secrets()
SECRET_KEY = os.environ.get("SECRET_KEY") or _generated_secret(
    "secret_key", lambda: secrets.token_urlsafe(50)
)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "channels",
    "accounts",
    "tournaments",
    "live",
    "chain",
    "dex",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ----------------------------------------------------------------------------
# DATABASE_URL=postgres://user@host:5432/name for production; SQLite under var/ otherwise.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'arena.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded scheduler thread and the ASGI server share the file: wait on locks
    # instead of failing, let readers proceed during a write (WAL), and take the write
    # lock when a transaction starts (IMMEDIATE) so two writers never deadlock on upgrade.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"}
    )
# DB_POOL_MAX_SIZE=N (PostgreSQL only): a connection pool of at most N connections per
# process. An ASGI server runs each request's database work in a thread of its own, so
# without a pool 200 concurrent requests open 200 connections and PostgreSQL (100 by
# default) refuses the rest; with it, requests beyond N wait briefly for a free connection.
if os.environ.get("DB_POOL_MAX_SIZE") and DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # a pooled connection goes back to the pool
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": int(os.environ["DB_POOL_MAX_SIZE"]),
        "timeout": float(os.environ.get("DB_POOL_TIMEOUT", "30")),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth --------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
# Log-in throttle (site and admin, accounts/login_throttle.py): this many failed log-ins per
# username, or from one client address, within the window (starting at the first failure)
# and further log-ins for it are refused until the window ends; 0 turns a limit off.
ARENA_LOGIN_FAILURES_PER_USERNAME = int(os.environ.get("ARENA_LOGIN_FAILURES_PER_USERNAME", "5"))
ARENA_LOGIN_FAILURES_PER_ADDRESS = int(os.environ.get("ARENA_LOGIN_FAILURES_PER_ADDRESS", "20"))
ARENA_LOGIN_WINDOW_SECONDS = int(os.environ.get("ARENA_LOGIN_WINDOW_SECONDS", "900"))

# --- i18n / static -----------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"

# --- Liveness ----------------------------------------------------------------------------
# A score day whose target has not arrived this long after its time is given up: the round
# resolves on the days it has (tournaments.services.lifecycle.round_resolve), so withheld
# targets never lock stakes. Default one week.
ARENA_TARGET_WAIT_SECONDS = int(os.environ.get("ARENA_TARGET_WAIT_SECONDS", 7 * 24 * 3600))

# --- Uploads -----------------------------------------------------------------------------
# Prediction files above this size are refused before parsing.
ARENA_MAX_PREDICTION_BYTES = int(os.environ.get("ARENA_MAX_PREDICTION_BYTES", 20 * 1024 * 1024))
ARENA_MAX_DATASET_BYTES = int(os.environ.get("ARENA_MAX_DATASET_BYTES", 500 * 1024 * 1024))
DATA_UPLOAD_MAX_MEMORY_SIZE = ARENA_MAX_PREDICTION_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Every request body is capped before it is spooled (core/body_limit.py): upload routes at
# their file limit plus the multipart envelope, every other route (JSON, site forms) at this.
ARENA_MAX_BODY_BYTES = int(os.environ.get("ARENA_MAX_BODY_BYTES", 1024 * 1024))
# Bytes of data files one sponsor may store over all their tournaments (0: no limit).
ARENA_SPONSOR_STORAGE_BYTES = int(os.environ.get("ARENA_SPONSOR_STORAGE_BYTES", 20 * 1024**3))
# Envelopes one model may upload to one round (the last counts); the next gets 429.
ARENA_MAX_UPLOADS_PER_ROUND = int(os.environ.get("ARENA_MAX_UPLOADS_PER_ROUND", "20"))
# Uploaded files are decoded in worker processes that a hostile file can only kill
# (tournaments/sandbox): each may use this much address space beyond its imports, this much
# CPU time per file, and gets this long per file before it is killed.
ARENA_DECODE_MEMORY_BYTES = int(os.environ.get("ARENA_DECODE_MEMORY_BYTES", 1024 * 1024 * 1024))
ARENA_DECODE_CPU_SECONDS = int(os.environ.get("ARENA_DECODE_CPU_SECONDS", "20"))
ARENA_DECODE_WALL_SECONDS = float(os.environ.get("ARENA_DECODE_WALL_SECONDS", "60"))
ARENA_DECODE_DATASET_MEMORY_BYTES = int(
    os.environ.get("ARENA_DECODE_DATASET_MEMORY_BYTES", 8 * 1024 * 1024 * 1024)
)
ARENA_DECODE_DATASET_CPU_SECONDS = int(os.environ.get("ARENA_DECODE_DATASET_CPU_SECONDS", "300"))
ARENA_DECODE_WORKERS = int(os.environ.get("ARENA_DECODE_WORKERS", str(min(2, os.cpu_count() or 1))))
# Sponsors' files are checked after the upload has answered (tournaments/services/uploads.py,
# a Celery task per file). A file still being checked this long after its check was sent or
# started is sent again by the scheduler's sweep (default: the sandbox's deadline for a data
# set, plus a minute); a check is started at most ARENA_UPLOAD_CHECK_ATTEMPTS times before the
# file is refused (`check_failed`). A sponsor may have ARENA_SPONSOR_PENDING_UPLOADS files
# being checked at once; the next is refused with 429 until one has finished.
ARENA_UPLOAD_RETRY_SECONDS = int(
    os.environ.get("ARENA_UPLOAD_RETRY_SECONDS", str(ARENA_DECODE_DATASET_CPU_SECONDS * 3 + 60))
)
ARENA_UPLOAD_CHECK_ATTEMPTS = int(os.environ.get("ARENA_UPLOAD_CHECK_ATTEMPTS", "3"))
ARENA_SPONSOR_PENDING_UPLOADS = int(os.environ.get("ARENA_SPONSOR_PENDING_UPLOADS", "10"))

# --- Keys --------------------------------------------------------------------------------
# Both are 64 hex digits (32 bytes). Round private keys are stored encrypted (AES-256-GCM)
# under ARENA_KEY_ENCRYPTION_KEY; upload receipts are signed with the Ed25519 key
# ARENA_RECEIPT_SIGNING_KEY, whose public half is served at /api/platform. The embedded
# profile generates each once into var/ (git-ignored, mode 0600). Production (DEBUG=0)
# refuses to start without them (see PRODUCTION_SECRETS): every web process must sign with
# the same key, and losing the key-encryption key loses the rounds' private keys (so their
# submissions could no longer be opened).


def _key_hex() -> str:
    return secrets.token_hex(32)


ARENA_KEY_ENCRYPTION_KEY = os.environ.get("ARENA_KEY_ENCRYPTION_KEY") or _generated_secret(
    "key_encryption_key", _key_hex
)
ARENA_RECEIPT_SIGNING_KEY = os.environ.get("ARENA_RECEIPT_SIGNING_KEY") or _generated_secret(
    "receipt_signing_key", _key_hex
)

# --- Redis, Celery and Channels ----------------------------------------------------------
# REDIS_URL switches tasks to real Celery workers/beat and websockets to channels-redis.
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
    # Redis pub/sub channels are server-wide, whatever the database number in REDIS_URL:
    # deployments (or test stacks) sharing one Redis need prefixes of their own.
    CHANNEL_PREFIX = os.environ.get("ARENA_CHANNEL_PREFIX", "asgi")
    if os.environ.get("ARENA_CHANNEL_LAYER", "pubsub") == "core":
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                # redis-py 8 times socket reads out after 5 s by default, while channels-redis
                # blocks 5 s in BZPOPMIN waiting for messages (channels_redis issue #422):
                # every idle websocket would crash. Give blocking reads room, not forever.
                # redis-py 8 also caps a pool at 100 connections and raises beyond it: a burst
                # of (re)connecting sockets makes more concurrent group_add calls than that.
                "CONFIG": {
                    "hosts": [{"address": REDIS_URL, "socket_timeout": 15, "max_connections": 1000}],
                    "prefix": CHANNEL_PREFIX,
                },
            }
        }
    else:
        # The default: Redis pub/sub delivers one message per ASGI process per update, fanned
        # out in-process (measured steadier than the list-based layer with 1,000 sockets, see
        # docs/performance.md). Delivery is at most once; the live feed's versions, gap repair
        # and client resume make that safe (live/publish.py).
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [{"address": REDIS_URL}], "prefix": CHANNEL_PREFIX},
            }
        }
else:
    # Embedded profile: tasks run in the calling process, no broker needed.
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = "cache+memory://"
    CELERY_TASK_ALWAYS_EAGER = True
    CELERY_TASK_EAGER_PROPAGATES = True
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# The cache holds throttle counters (the API's and failed log-ins): in Redis with REDIS_URL,
# so every web process counts together; in the process's memory on the embedded profile.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "arena",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# DEX tournaments off dev chains: the exchanges ("factory:router" address pairs, comma
# separated) a vault may trade through; none by default, so a real chain needs the list.
ARENA_DEX_EXCHANGES = [p.strip() for p in os.environ.get("ARENA_DEX_EXCHANGES", "").split(",") if p.strip()]
# Each pool of a DEX universe must hold at least this many times the vault's capital in
# quote tokens (a thin pool moves far under the vault's trades and is cheap to push around).
ARENA_DEX_MIN_POOL_MULTIPLE = int(os.environ.get("ARENA_DEX_MIN_POOL_MULTIPLE", "20"))
# DEX rounds: blocks of pool history read per tick (a long history is read over several).
ARENA_DEX_SYNC_BLOCKS = int(os.environ.get("ARENA_DEX_SYNC_BLOCKS", "5000"))
# DEX rounds: how often the scheduler marks a trading vault to market (live P&L).
ARENA_DEX_MARK_SECONDS = float(os.environ.get("ARENA_DEX_MARK_SECONDS", "5"))

# The scheduler tick: Celery beat runs it in production, `manage.py up` in-process.
ARENA_TICK_SECONDS = float(os.environ.get("ARENA_TICK_SECONDS", "1"))
# Each tournament's share of a tick: no step of it starts after this many seconds (the rest
# waits for the next tick), so one tournament's backlog never holds up another's rounds.
ARENA_TOURNAMENT_TICK_SECONDS = float(os.environ.get("ARENA_TOURNAMENT_TICK_SECONDS", "5"))
# How long a tournament's lease (tournaments/services/tick_lease.py) outlives a killed
# worker; a heartbeat renews it while its step runs.
ARENA_TOURNAMENT_LEASE_SECONDS = int(os.environ.get("ARENA_TOURNAMENT_LEASE_SECONDS", "30"))
# The longest one tournament_step task may run (Celery's soft time limit; hard one minute on).
ARENA_TOURNAMENT_STEP_TIME_LIMIT = int(os.environ.get("ARENA_TOURNAMENT_STEP_TIME_LIMIT", "900"))
CELERY_BEAT_SCHEDULE = {
    "arena-tick": {
        "task": "tournaments.tasks.scheduler_tick",
        "schedule": timedelta(seconds=ARENA_TICK_SECONDS),
        # A tick nobody picked up in time is dropped: the next one does the same work, and a
        # busy worker must not face a backlog of stale ticks.
        "options": {"expires": max(2 * ARENA_TICK_SECONDS, 1.0)},
    },
}

# Live leaderboards (live/publish.py): how many updates each tournament keeps for
# clients that reconnect with their last version (older ones get a fresh snapshot), and the
# "last N rounds" windows whose changed rows are computed once and pushed; a page showing
# another window is recomputed by its websocket process on each new version.
ARENA_LIVE_LOG_SIZE = int(os.environ.get("ARENA_LIVE_LOG_SIZE", "500"))
ARENA_LIVE_WINDOWS = tuple(int(n) for n in env_list("ARENA_LIVE_WINDOWS", ["4"]))
# Open websockets one client address may hold on one ASGI process (live/socket_limit.py);
# the next is closed with code 4429. Counted per process: with N ASGI workers a client may
# hold up to N times this. 0 turns the limit off.
ARENA_WS_MAX_PER_ADDRESS = int(os.environ.get("ARENA_WS_MAX_PER_ADDRESS", "100"))

# --- Chain -------------------------------------------------------------------------------
# Empty CHAIN_RPC_URL = in-process py-evm chain; otherwise any JSON-RPC node, with the
# operator's key from CHAIN_OPERATOR_KEY.
CHAIN_RPC_URL = os.environ.get("CHAIN_RPC_URL", "")
CHAIN_OPERATOR_KEY = os.environ.get("CHAIN_OPERATOR_KEY", "")
# embedded: py-evm inside this process, journaled under CHAIN_STATE_DIR; rpc: CHAIN_RPC_URL;
# off: payouts settle in the database only (used by unit tests of the lifecycle).
ARENA_CHAIN = os.environ.get("ARENA_CHAIN") or ("rpc" if CHAIN_RPC_URL else "embedded")
CHAIN_STATE_DIR = Path(os.environ.get("CHAIN_STATE_DIR", VAR_DIR / "chain"))
CHAIN_TOKEN_ADDRESS = os.environ.get("CHAIN_TOKEN_ADDRESS", "")
CHAIN_STAKING_ADDRESS = os.environ.get("CHAIN_STAKING_ADDRESS", "")
# Blocks an event must be buried under before the indexer mirrors it (reorg safety).
CHAIN_CONFIRMATIONS = int(os.environ.get("CHAIN_CONFIRMATIONS", "0" if ARENA_CHAIN == "embedded" else "2"))
# Seconds the tournament's guardian may veto a proposed settlement.
CHAIN_CHALLENGE_WINDOW = int(os.environ.get("CHAIN_CHALLENGE_WINDOW", "3600"))
CHAIN_APPLY_BATCH = int(os.environ.get("CHAIN_APPLY_BATCH", "100"))
# Seconds between receipt polls on a JSON-RPC node (a dev node mines at once: poll fast).
CHAIN_POLL_INTERVAL = float(os.environ.get("CHAIN_POLL_INTERVAL", "1.0"))
# A development node (anvil): the platform may mint test tokens, make custodial wallets for
# users and move block time. Never set this against a real network.
CHAIN_DEV = env_bool("CHAIN_DEV", ARENA_CHAIN == "embedded")

# --- REST API ----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.ApiPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "core.api.tools.ArenaAutoSchema",
    "EXCEPTION_HANDLER": "core.api.errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("API_THROTTLE_ANON", "600/min"),
        "user": os.environ.get("API_THROTTLE_USER", "6000/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Arena API",
    "DESCRIPTION": "Tournaments, rounds, models, submissions, scores and payouts.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Separate request/response components: file fields are binary uploads in requests.
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "RoundStateEnum": "tournaments.models.RoundState",
        "TournamentStateEnum": "tournaments.models.TournamentState",
    },
}

# --- Security (production) ---------------------------------------------------------------
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

# --- Logging -----------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "arena": {"handlers": ["console"], "level": os.environ.get("ARENA_LOG_LEVEL", "INFO")},
    },
}

"""Lailiao settings. Every value comes from the environment; when a variable is absent the
embedded default applies: SQLite (WAL), an in-memory channel layer and Celery tasks executed
in-process, so one machine with Python runs the whole product."""
from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.utils.translation import gettext_lazy as _

from .env import env_bool, env_int, env_list, env_str

BACKEND_DIR = Path(__file__).resolve().parent.parent.parent
REPO_DIR = BACKEND_DIR.parent
VAR_DIR = Path(env_str("LAILIAO_VAR_DIR", str(REPO_DIR / "var")))
FRONTEND_DIST = Path(env_str("FRONTEND_DIST", str(REPO_DIR / "frontend" / "dist")))


def _embedded_secret_key() -> str:
    """A random key kept in var/ so sessions survive restarts of the embedded server."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or _embedded_secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", ["http://127.0.0.1:8000", "http://localhost:8000"])
# Pages that may open /ws/events/ with the session cookie: exact scheme://host[:port] (no
# wildcards), besides the server's own origin. Clients without an Origin header must send a token.
WEBSOCKET_ALLOWED_ORIGINS = env_list("WEBSOCKET_ALLOWED_ORIGINS", CSRF_TRUSTED_ORIGINS)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "djmoney",
    "channels",
    "axes",
    "core",
    "accounts",
    "orders",
    "brokers",
    "payments",
    "subsidies",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # before WhiteNoise, so the policy is on the static files and the built app's files too
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # last, as axes asks: turns a login lockout into the 429 of accounts.throttles
    "axes.middleware.AxesMiddleware",
    "accounts.throttles.LoginDeviceMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BACKEND_DIR / "templates"],
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

# --- Content-Security-Policy (django-csp; docs/security.md § Headers and sessions) ------------
# What the web app (the Vite build at /), the API docs (/api/docs/) and the admin need, and no
# more: scripts only from our own files (none of the three has an inline script; the API docs
# load their init script from /api/docs/?script=), styles also inline (Ant Design and Swagger UI
# write <style> elements and style attributes at run time), images also as data: URLs, requests
# and websockets to our own origin ('self' covers ws:/wss: of the same host in CSP 3 browsers; the
# production settings add wss:// of each allowed host for older ones), no plugins, no framing.
CSP_EXTRA_CONNECT_SRC = env_list("CSP_EXTRA_CONNECT_SRC", [])  # extra origins the app may fetch from or open sockets to
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF, *CSP_EXTRA_CONNECT_SRC],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "lailiao.sqlite3",
            "OPTIONS": {
                # WAL lets readers work while one writer writes; IMMEDIATE avoids lock-upgrade
                # deadlocks between two writers.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000; "
                                # REPLACE deletes the old row: with this its DELETE guard fires too
                                "PRAGMA recursive_triggers=ON;",
                "transaction_mode": "IMMEDIATE",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# `check --deploy` on PostgreSQL warns when DATABASE_URL's role is a superuser, owns the tables or
# may TRUNCATE (core/checks.py); 0 only where a superuser connection is deliberate.
DATABASE_ROLE_CHECK = env_bool("DATABASE_ROLE_CHECK", True)

# --- Redis: channel layer, Celery and cache when REDIS_URL is set -----------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        # Each consumer waits for its next message with a blocking BZPOPMIN of
                        # 5 s (RedisChannelLayer.brpop_timeout). redis-py 8 reads with a default
                        # socket_timeout of 5 s too, so an idle socket lost that race: TimeoutError,
                        # and daphne closed the websocket with 1011 every ~5 s (channels_redis
                        # issue #422). The read timeout must outlast the blocking pop, but not be
                        # infinite: a dead Redis connection still fails within 15 s (the client
                        # reconnects) instead of leaving open a socket that hears nothing.
                        "socket_timeout": 15,
                        "socket_connect_timeout": 5,
                        # TCP keepalive probes (redis-py's: idle 30 s, every 5 s, 3 probes), and a
                        # PING before reusing a pooled connection idle for 30 s, so a group_send
                        # after a quiet hour meets no socket a proxy or NAT silently dropped.
                        "socket_keepalive": True,
                        "health_check_interval": 30,
                    }
                ],
                # The default capacity of 100 drops messages silently under bursts.
                "capacity": env_int("CHANNEL_LAYER_CAPACITY", 1500),
                "expiry": 60,
                "prefix": env_str("CHANNEL_LAYER_PREFIX", "lailiao"),
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "lailiao"),
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
# Embedded default: no broker, so tasks run in-process at .delay() time.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 15 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 14 * 60)
# Tasks are written to be idempotent, so a task lost with its worker is redelivered.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "lailiao")
# Redis redelivers unacked tasks after this; no countdown may exceed it (DEVELOPERS.md traps).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 2 * 60 * 60)}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "Asia/Shanghai"
# Requests enforce deadlines themselves; these jobs record the state and notify.
CELERY_BEAT_SCHEDULE: dict = {
    "orders-close-due-bidding": {"task": "orders.close_due_bidding", "schedule": 60.0},
    # daily, in CELERY_TIMEZONE: both are idempotent, so a second run the same day does nothing
    "payments-payroll-remind": {"task": "payments.payroll_remind", "schedule": crontab(hour=9, minute=0)},
    "payments-payroll-auto-close": {"task": "payments.payroll_auto_close", "schedule": crontab(hour=2, minute=30)},
    # subsidies: last month's loan interest on the 2nd, last year's awards on 10 January (both idempotent;
    # after the payroll auto-close so the month's payouts are in)
    "subsidies-schedule-monthly": {"task": "subsidies.schedule_monthly",
                                   "schedule": crontab(day_of_month=2, hour=3, minute=0)},
    "subsidies-schedule-yearly": {"task": "subsidies.schedule_yearly",
                                  "schedule": crontab(month_of_year=1, day_of_month=10, hour=3, minute=30)},
}
# Payroll runs of past months still in preview are closed from this day of the month on.
PAYROLL_AUTO_CLOSE_DAY = env_int("PAYROLL_AUTO_CLOSE_DAY", 5)

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# axes first: it refuses a locked-out client before any password is checked
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "accounts.backends.UsernameOrPhoneBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_AGE = 14 * 24 * 60 * 60
# Reverse proxies in front of the app, each appending to X-Forwarded-For; 0: the connection's
# address is the client's (core/clients.py). Set it only when clients cannot reach the app directly.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# --- Login limits (accounts/throttles.py, docs/security.md "Login") ---------------------------
# Failures of one client (account and address) that lock it out of that account.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
# Failures on one account from all addresses (each counting at most LOGIN_FAILURE_LIMIT) past
# which only clients known to be the owner may try it.
LOGIN_ACCOUNT_FAILURE_LIMIT = env_int("LOGIN_ACCOUNT_FAILURE_LIMIT", 20)
# Failures from one address over all accounts past which it may only try accounts it is known for.
LOGIN_ADDRESS_FAILURE_LIMIT = env_int("LOGIN_ADDRESS_FAILURE_LIMIT", 30)
# Failures count for this long after a client's last one; a lock lasts until enough have aged out.
LOGIN_COOLOFF_MINUTES = env_int("LOGIN_COOLOFF_MINUTES", 15)
# A device cookie, or a login from an address, marks the owner of an account for this many days.
LOGIN_DEVICE_DAYS = env_int("LOGIN_DEVICE_DAYS", 90)
AXES_HANDLER = "accounts.throttles.LoginLimitHandler"
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]  # the pair; the other budgets are in the handler
AXES_USERNAME_CALLABLE = "accounts.throttles.login_account_key"
AXES_CLIENT_IP_CALLABLE = "core.clients.client_ip_block"
AXES_LOCKOUT_CALLABLE = "accounts.throttles.login_locked_response"
# the handler writes AccessLog itself, once per correct password (session, token and admin logins)
AXES_DISABLE_ACCESS_LOG = True
# a refused attempt counts as a failure: a client that keeps trying keeps its lock
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = True
AXES_VERBOSE = False  # no banner on every start; lockouts are in axes_accessattempt and the log
# A failed CSRF check under /api/ answers the one error shape (docs/api.md), HTML elsewhere.
CSRF_FAILURE_VIEW = "core.views.csrf_failure"
# Request limits (docs/api.md, "One error shape"): over them the API answers 413. Uploaded
# files do not count towards the body size.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)  # 2.5 MiB
DATA_UPLOAD_MAX_NUMBER_FIELDS = env_int("DATA_UPLOAD_MAX_NUMBER_FIELDS", 1000)
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("DATA_UPLOAD_MAX_NUMBER_FILES", 100)

# --- i18n -----------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BACKEND_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static files and the built frontend ----------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# The Vite build (index.html, /assets/...) is served from the site root.
WHITENOISE_ROOT = FRONTEND_DIST if FRONTEND_DIST.exists() else None
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"

# --- Money ----------------------------------------------------------------------------------
CURRENCIES = ("CNY",)
DEFAULT_CURRENCY = "CNY"

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # the token first: a refused token answers 401 with its challenge (core/authentication.py)
        "core.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.IdCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["core.filters.FilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.errors.api_exception_handler",
    # JSON bodies are one object nested at most 64 deep (core/parsers.py); forms for uploads
    # JSON only: DRF's browsable API would answer a browser's `Accept: text/html` with an HTML page
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # flood protection on the login and token endpoints: every request per address (the login
    # limits above count failures). Its address is core.clients'; NUM_PROXIES makes DRF's own
    # get_ident agree for any other throttle (except that with fewer hops than proxies DRF takes
    # the leftmost, core.clients the connection's)
    "DEFAULT_THROTTLE_RATES": {"login_address": env_str("LOGIN_RATE_IP", "120/min")},
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "COERCE_DECIMAL_TO_STRING": True,
}
# API tokens (django-rest-knox, docs/security.md "Tokens"): stored hashed, one per device, expiring
# unless used; use pushes the expiry and `last_used` on at most once per refresh interval.
KNOX_TOKEN_MODEL = "accounts.AuthToken"
# knox's migrations would create its own table although its model is swapped for ours: none run
MIGRATION_MODULES = {"knox": None}
_token_max_age_days = env_int("API_TOKEN_MAX_AGE_DAYS", 365)  # absolute lifetime however used; 0: none
REST_KNOX = {
    "TOKEN_MODEL": KNOX_TOKEN_MODEL,
    "TOKEN_TTL": timedelta(hours=env_int("API_TOKEN_TTL_HOURS", 30 * 24)),  # lifetime since last use
    "AUTO_REFRESH": True,
    "AUTO_REFRESH_MAX_TTL": timedelta(days=_token_max_age_days) if _token_max_age_days > 0 else None,
    "MIN_REFRESH_INTERVAL": env_int("API_TOKEN_REFRESH_INTERVAL_SECONDS", 15 * 60),  # seconds between writes
    "AUTH_HEADER_PREFIX": "Token",
}
API_TOKENS_PER_USER = env_int("API_TOKENS_PER_USER", 20)  # live tokens per user; a new one ends the oldest
PASSWORD_CHANGE_RATE = env_str("PASSWORD_CHANGE_RATE", "5/min")  # password changes per user: guesses at the old one
SPECTACULAR_SETTINGS = {
    "TITLE": "Lailiao API",
    "DESCRIPTION": "Processing with supplied materials: orders, bids, piecework, payroll and subsidies.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # Swagger UI from the installed package, not a CDN: the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # no badge fetched from validator.swagger.io (it would send our schema's URL away; the CSP blocks it)
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.Order.Status",
        "BidStatusEnum": "orders.models.Bid.Status",
        "AwardStatusEnum": "orders.models.Award.Status",
        "DispatchStatusEnum": "orders.models.Dispatch.Status",
        "DeliveryStatusEnum": "orders.models.Delivery.Status",
        "SubcontractStatusEnum": "orders.models.Subcontract.Status",
        "WorkModeEnum": "brokers.models.WorkMode",
        "OrderCategoryEnum": "orders.models.Category",
        "BrokerCategoryEnum": "brokers.models.BrokerCategory",
        "LeaveReasonEnum": "brokers.models.Attendance.LeaveReason",
        "SiteKindEnum": "brokers.models.SiteKind",
        "DisputeKindEnum": "brokers.models.Dispute.Kind",
        "OrganisationKindEnum": "accounts.models.Organisation.Kind",
        "PayrollRunStatusEnum": "payments.models.PayrollRun.Status",
        "PayoutBatchStatusEnum": "payments.models.PayoutBatch.Status",
        "PayoutItemStatusEnum": "payments.models.PayoutItem.Status",
        "PayslipLineKindEnum": "payments.models.PayslipLine.Kind",
        "AccountPurposeEnum": "payments.models.Account.Purpose",
    },
}

# --- Logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}

# --- Lailiao --------------------------------------------------------------------------------
# The fair-rate floor's minimum wage where a county has no MinimumWage row (Tiandeng seed:
# 2,000 yuan a month over 21.75 days of 8 hours).
DEFAULT_MINIMUM_WAGE = {
    "monthly": env_str("DEFAULT_MINIMUM_WAGE_MONTHLY", "2000"),
    "days": env_str("DEFAULT_MINIMUM_WAGE_DAYS", "21.75"),
    "hours": env_str("DEFAULT_MINIMUM_WAGE_HOURS", "8"),
}
# Piecework: a second scan of the same ticket and procedure by the same worker within this
# many seconds is a double tap, not new work; a worker may dispute a log for this many days.
PIECE_SCAN_GUARD_SECONDS = env_int("PIECE_SCAN_GUARD_SECONDS", 60)
PIECE_DISPUTE_WINDOW_DAYS = env_int("PIECE_DISPUTE_WINDOW_DAYS", 30)
# A worker scanning a ticket logs work of today only, or of up to this many days back (never
# into a closed payroll month), and at most this many pieces a scan (docs/security.md).
WORKER_LOG_WINDOW_DAYS = env_int("WORKER_LOG_WINDOW_DAYS", 0)
WORKER_SCAN_MAX_QUANTITY = env_int("WORKER_SCAN_MAX_QUANTITY", 50)
# Printed by `make run`; the demo accounts' password (demo data only).
DEMO_PASSWORD = env_str("DEMO_PASSWORD", "lailiao-demo-2026")
HEALTHZ_TIMEOUT_SECONDS = float(env_str("HEALTHZ_TIMEOUT_SECONDS", "2"))

# --- Limits ---------------------------------------------------------------------------------
# Input limits that an operator may need to change (the others are constants in each app's
# limits.py; every one is listed in docs/api.md § Limits). An order attachment larger than this
# is refused with 400 file_too_large.
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
# An order holds at most this many attachments (400 too_many_attachments) ...
ATTACHMENTS_PER_ORDER_MAX = env_int("ATTACHMENTS_PER_ORDER_MAX", 20)
# ... of at most this many bytes together (400 attachments_too_large).
ATTACHMENTS_PER_ORDER_MAX_BYTES = env_int("ATTACHMENTS_PER_ORDER_MAX_BYTES", 50 * 1024 * 1024)

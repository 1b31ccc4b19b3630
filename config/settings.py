"""Django settings, all read from the environment (see .env.example for every variable).

Defaults give a self-contained portal: SQLite under ./data and an embedded filesystem broker, so
`make run` needs no server. DATABASE_URL and CELERY_BROKER_URL switch to PostgreSQL and Redis.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from config.env import (
    ConfigError,
    env_bool,
    env_broker,
    env_cache,
    env_database,
    env_int,
    env_list,
    env_networks,
    env_path,
    env_size,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
DATA_DIR = env_path("DATA_DIR", BASE_DIR / "data")

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ConfigError(
            "SECRET_KEY is required when DEBUG is off; set it to a long random string "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    SECRET_KEY = "insecure-development-key-only-used-when-DEBUG-is-on-" + "x" * 20

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "axes",
    "core",
    "audits",
    "models_registry",
    "governance",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.RequestContextMiddleware",
    # Control characters (NUL...) in the path, query, headers, cookies, forms or JSON: a 400 naming
    # the field, before sessions, tokens or the CSRF check read them (core/input_guard.py).
    "core.input_guard.InputGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.middleware.AuditActorMiddleware",
    # A service error (core.errors) leaving an HTML view: its 403/404/409/400 page (core/views_errors.py).
    "core.views_errors.PortalErrorMiddleware",
    "core.middleware.SecurityHeadersMiddleware",
    # DEBUG only: the portal's 404 page rather than Django's list of every URL (core/views_errors.py).
    "core.views_errors.DebugNotFoundMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Axes last, as its documentation asks, so it sees the final response of a login attempt.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "core.context_processors.navigation",
                "core.context_processors.notifications",
            ],
        },
    },
]

DATABASES = {"default": env_database("DATABASE_URL", DATA_DIR / "portal.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "core.User"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling: after AXES_FAILURE_LIMIT failures for one username from one address, that
# pair is locked out for AXES_COOLOFF_MINUTES.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_ENABLED = env_bool("AXES_ENABLED", True)

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env_path("STATIC_ROOT", BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = env_path("MEDIA_ROOT", DATA_DIR / "media")
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage",
    },
}
# Uploaded model and dataset files, stored by content hash behind one adapter (models_registry.storage):
# the local filesystem by default, S3-compatible object storage when ARTIFACT_STORAGE=s3, so workers
# on other machines can read them.
ARTIFACT_STORAGE = env_str("ARTIFACT_STORAGE", "local")
if ARTIFACT_STORAGE == "local":
    STORAGES["artifacts"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(env_path("ARTIFACT_ROOT", MEDIA_ROOT / "artifacts"))},
    }
elif ARTIFACT_STORAGE == "s3":
    STORAGES["artifacts"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("S3_BUCKET", required=True),
            "endpoint_url": env_str("S3_ENDPOINT_URL"),
            "region_name": env_str("S3_REGION"),
            "access_key": env_str("S3_ACCESS_KEY_ID"),
            "secret_key": env_str("S3_SECRET_ACCESS_KEY"),
            "location": env_str("S3_PREFIX", "artifacts"),
            "file_overwrite": False,
            "default_acl": None,
        },
    }
else:
    raise ConfigError(f"ARTIFACT_STORAGE={ARTIFACT_STORAGE!r} is not supported; use local or s3.")
# Uploads over MAX_UPLOAD_SIZE are cut off while they stream in, before they are stored.
FILE_UPLOAD_HANDLERS = [
    "models_registry.uploads.MaxSizeUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
FILE_UPLOAD_TEMP_DIR = str(DATA_DIR / "uploads-tmp")

# In development whitenoise serves straight from the app folders, so no collectstatic is needed.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
MAX_UPLOAD_SIZE = env_size("MAX_UPLOAD_SIZE", 2 * 1024**3)
# Certificates are signed with an Ed25519 key kept outside the database: from CERTIFICATE_SIGNING_KEY
# (PEM, or base64 of the 32 raw bytes) if set, else from this file, created 0600 on first use.
# Both are parsed strictly by audits.certification.signing (docs/certificates.md).
CERTIFICATE_SIGNING_KEY = env_str("CERTIFICATE_SIGNING_KEY")
CERTIFICATE_SIGNING_KEY_FILE = env_path(
    "CERTIFICATE_SIGNING_KEY_FILE", DATA_DIR / "keys" / "certificate-signing-ed25519.pem"
)
# The audit trail is anchored outside the database (audits.checkpoints): beat signs each chain's
# head every AUDIT_CHECKPOINT_INTERVAL_MINUTES with a key of its own (same rules as the certificate
# key) and appends it to a JSON-lines file under AUDIT_CHECKPOINT_DIR -- keep that folder where the
# database server cannot write -- and, when AUDIT_CHECKPOINT_S3_BUCKET is set, to an S3 bucket with
# object lock (COMPLIANCE mode, AUDIT_CHECKPOINT_S3_RETENTION_DAYS). The key also signs export headers.
AUDIT_CHECKPOINT_SIGNING_KEY = env_str("AUDIT_CHECKPOINT_SIGNING_KEY")
AUDIT_CHECKPOINT_SIGNING_KEY_FILE = env_path(
    "AUDIT_CHECKPOINT_SIGNING_KEY_FILE", DATA_DIR / "keys" / "audit-checkpoint-ed25519.pem"
)
AUDIT_CHECKPOINT_DIR = env_path("AUDIT_CHECKPOINT_DIR", DATA_DIR / "audit-checkpoints")
AUDIT_CHECKPOINT_INTERVAL_MINUTES = env_int("AUDIT_CHECKPOINT_INTERVAL_MINUTES", 60, minimum=1)
AUDIT_CHECKPOINT_S3_BUCKET = env_str("AUDIT_CHECKPOINT_S3_BUCKET")
AUDIT_CHECKPOINT_S3_RETENTION_DAYS = env_int("AUDIT_CHECKPOINT_S3_RETENTION_DAYS", 3650, minimum=1)
if AUDIT_CHECKPOINT_S3_BUCKET:
    # The artifact store's S3 endpoint and credentials (S3_*), a bucket of its own with object lock.
    STORAGES["audit_checkpoints"] = {
        "BACKEND": "audits.checkpoint_storage.LockedS3Storage",
        "OPTIONS": {
            "bucket_name": AUDIT_CHECKPOINT_S3_BUCKET,
            "endpoint_url": env_str("S3_ENDPOINT_URL"),
            "region_name": env_str("S3_REGION"),
            "access_key": env_str("S3_ACCESS_KEY_ID"),
            "secret_key": env_str("S3_SECRET_ACCESS_KEY"),
            "location": env_str("AUDIT_CHECKPOINT_S3_PREFIX", "audit-checkpoints"),
            "file_overwrite": False,
            "default_acl": None,
        },
    }

# Security: secure cookies whenever DEBUG is off; HSTS and HTTPS redirect are explicit opt-ins
# because the portal is often run behind a TLS-terminating proxy that already does them.
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600, minimum=300)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The client's address, one answer for the audit trail, the log-in lock-out and every throttle
# (core.client_ip): the socket address unless proxies we run are named. TRUSTED_PROXY_COUNT = how
# many proxies append to X-Forwarded-For in front of the portal (the client is that many places
# from the right of X-Forwarded-For + the socket address); TRUSTED_PROXIES = their networks (the
# client is the right-most address outside them). TRUST_X_FORWARDED_FOR=true, the older switch,
# still means one trusted proxy. Trusting more than there are lets clients forge their address.
TRUST_X_FORWARDED_FOR = env_bool("TRUST_X_FORWARDED_FOR", False)
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1 if TRUST_X_FORWARDED_FOR else 0, minimum=0)
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES")
if TRUSTED_PROXIES and TRUSTED_PROXY_COUNT and env_str("TRUSTED_PROXY_COUNT"):
    raise ConfigError("Set TRUSTED_PROXY_COUNT or TRUSTED_PROXIES, not both: one way of finding the client's address.")
if TRUSTED_PROXIES:
    TRUSTED_PROXY_COUNT = 0
AXES_CLIENT_IP_CALLABLE = "core.client_ip.client_ip"
# Lock-outs are counted in the database, which every web process shares.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
# Throttle counts live in the cache: set CACHE_URL (redis://host:6379/1) when more than one web
# process serves, or each process allows the full rate. Unset: each process's own memory.
CACHES = {"default": env_cache("CACHE_URL")}

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# Where the file backend (django.core.mail.backends.filebased.EmailBackend, `make run`) writes each message.
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(DATA_DIR / "mail"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "AI Governance Portal <portal@localhost>")
# Notifications of one kind about one object within this many seconds (a reviewer deciding finding
# after finding) are gathered into one digest, e-mailed once the window closes.
NOTIFICATION_DIGEST_SECONDS = env_int("NOTIFICATION_DIGEST_SECONDS", 120, minimum=0)
# The portal's public address: signed into every certificate (its verification link) and used in
# e-mails, so a production portal must say it; only development falls back to runserver's address.
PORTAL_BASE_URL = env_url("PORTAL_BASE_URL")
if not PORTAL_BASE_URL:
    if not DEBUG:
        raise ConfigError(
            "PORTAL_BASE_URL is required when DEBUG is off: it is signed into every certificate "
            "as its verification link. Set it to the address people open, e.g. "
            "https://portal.example.org."
        )
    PORTAL_BASE_URL = "http://127.0.0.1:8000"

# --- REST API ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.api.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.Pagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # Adds the error answers (400/401/403/404/409) every operation can give (core/api/schema.py).
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.PortalAutoSchema",
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "PAGE_SIZE": 50,
    # Only the public certificate verification endpoints are throttled (per client address; see
    # audits.certification.public_views.CertificateVerifyThrottle): they need no login.
    "DEFAULT_THROTTLE_RATES": {"certificate_verify": "60/minute"},
}
KNOX_TOKEN_MODEL = "core.ApiToken"
# knox's own migrations create its default token table even when the model is swapped (its 0001 lacks
# the swappable option); with no migrations for knox, Django skips the swapped model entirely.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    "TOKEN_PREFIX": "agp_",
    "TOKEN_TTL": timedelta(days=env_int("API_TOKEN_TTL_DAYS", 90, minimum=1)),
    "AUTO_REFRESH": False,
    "TOKEN_LIMIT_PER_USER": 20,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "AI Governance Portal API",
    "DESCRIPTION": "Register AI systems, upload models and datasets, run validations and follow "
    "certification. Authenticate with `Authorization: Token <token>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several apps have a "role" and a "status" field with different choices: name each enum.
    "ENUM_NAME_OVERRIDES": {
        "UserRoleEnum": "core.choices.Role",
        "DatasetRoleEnum": "models_registry.choices.DatasetRole",
        "OperatorRoleEnum": "models_registry.choices.OperatorRole",
        "DeterminationStatusEnum": "governance.choices.DeterminationStatus",
        "ObligationStatusEnum": "governance.choices.ObligationStatus",
        "RiskStatusEnum": "governance.risks.choices.RiskStatus",
        "SubmissionStatusEnum": "audits.certification.choices.SubmissionStatus",
        "CertificateStatusEnum": "audits.certification.choices.CertificateStatus",
        "ConditionStatusEnum": "audits.certification.choices.ConditionStatus",
        "ReviewerRoleEnum": "audits.certification.choices.ReviewerRole",
        "FindingDecisionEnum": "audits.certification.choices.DecisionKind",
        "SignOffDecisionEnum": "audits.certification.choices.SignOffDecision",
        "FindingStatusEnum": "audits.choices.FindingStatus",
    },
}

# --- Celery --------------------------------------------------------------------------------
CELERY_BROKER_URL = env_broker("CELERY_BROKER_URL", DATA_DIR / "broker")
_BROKER_DIR = DATA_DIR / "broker"
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(_BROKER_DIR / "out"),
        "data_folder_out": str(_BROKER_DIR / "out"),
        "control_folder": str(_BROKER_DIR / "control"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    # Redis: fail a publish fast when the broker is gone (the outbox retries it) instead of hanging a
    # request on a dead connection; look for messages of dead workers every 10 s rather than every
    # 100 s; visibility_timeout is set below, from the validation time limit.
    else {"socket_connect_timeout": 5, "socket_timeout": 10, "unacked_restore_throttle": 1}
)
_default_backend = (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis", "rediss")) else f"file://{DATA_DIR / 'celery-results'}"
)
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", _default_backend)
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Task modules outside the apps' tasks.py (autodiscovery finds only those).
# The audits wings keep their own tasks.py (autodiscovery looks only at <app>.tasks).
CELERY_IMPORTS = ("audits.tasks_trail", "audits.validation.tasks", "audits.certification.tasks", "audits.reports.tasks")
CELERY_BEAT_SCHEDULE = {
    "audit-trail-verify-nightly": {
        "task": "audits.audit_trail_verify",
        "schedule": timedelta(hours=24),
    },
    "audit-trail-checkpoint": {
        "task": "audits.audit_trail_checkpoint",
        "schedule": timedelta(minutes=AUDIT_CHECKPOINT_INTERVAL_MINUTES),
    },
    "governance-evidence-staleness-sweep": {
        "task": "governance.evidence_staleness_sweep",
        "schedule": timedelta(hours=24),
    },
    "risk-review-reminders-daily": {
        "task": "governance.risk_review_reminders",
        "schedule": timedelta(hours=24),
    },
    "validation-reap-stale": {
        "task": "audits.validation_reap_stale",
        "schedule": timedelta(minutes=1),
    },
    "certification-daily-sweep": {
        "task": "audits.certification_daily_sweep",
        "schedule": timedelta(hours=6),
    },
    "report-jobs-reap-stale": {
        "task": "audits.report_jobs_reap_stale",
        "schedule": timedelta(minutes=5),
    },
    "validation-publish-pending": {
        "task": "audits.validation_publish_pending",
        "schedule": timedelta(seconds=30),
    },
    "upload-temp-sweep": {
        "task": "core.upload_temp_sweep",
        "schedule": timedelta(hours=1),
    },
    "upload-scans-sweep": {
        "task": "models_registry.upload_scans_sweep",
        "schedule": timedelta(minutes=5),
    },
}
# Certificates: how long an approval without an explicit end date stays valid.
CERTIFICATE_VALIDITY_DAYS = env_int("CERTIFICATE_VALIDITY_DAYS", 365, minimum=1)
# Validation runs: per-run limits enforced on the child process that loads the model, and how
# long a running run may go without a heartbeat before the reaper fails it, and how long a run
# may wait in the queue for a worker before the reaper fails it too.
VALIDATION_TIME_LIMIT_S = env_int("VALIDATION_TIME_LIMIT_S", 1800, minimum=10)
VALIDATION_MEMORY_LIMIT_MB = env_int("VALIDATION_MEMORY_LIMIT_MB", 4096, minimum=64)
VALIDATION_STALE_AFTER_S = env_int("VALIDATION_STALE_AFTER_S", 300, minimum=30)
VALIDATION_QUEUED_TIMEOUT_S = env_int("VALIDATION_QUEUED_TIMEOUT_S", 1800, minimum=60)
# A run whose worker died (killed, out of memory, machine lost) is taken over by the next delivery of
# its message once its heartbeat is VALIDATION_STALE_AFTER_S old, and started again; after
# VALIDATION_MAX_ATTEMPTS starts it fails with the reason. The reaper uses the same threshold: it
# hands a silent run with attempts left back to the broker (so a takeover does not wait for Redis to
# re-deliver) and fails it only when no attempt is left or no worker took it over.
VALIDATION_MAX_ATTEMPTS = env_int("VALIDATION_MAX_ATTEMPTS", 3, minimum=1)
# Redis re-delivers a message its worker did not acknowledge only after the visibility timeout, and
# validation messages stay unacknowledged for the whole run (acks_late). So it must outlast the
# longest run (the time limit, plus copying the inputs and saving the results): shorter, and Redis
# hands a healthy long run to a second worker (the claim refuses it, but for nothing); much longer
# only delays the re-delivery after a worker died, which the reaper's hand-back makes up for.
BROKER_VISIBILITY_TIMEOUT_S = env_int("BROKER_VISIBILITY_TIMEOUT_S", VALIDATION_TIME_LIMIT_S + 600, minimum=10)
if BROKER_VISIBILITY_TIMEOUT_S <= VALIDATION_TIME_LIMIT_S:
    raise ConfigError(
        f"BROKER_VISIBILITY_TIMEOUT_S ({BROKER_VISIBILITY_TIMEOUT_S}) must be longer than "
        f"VALIDATION_TIME_LIMIT_S ({VALIDATION_TIME_LIMIT_S}), or Redis re-delivers runs that are "
        "still running."
    )
if not CELERY_BROKER_URL.startswith("filesystem"):
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = BROKER_VISIBILITY_TIMEOUT_S
# Upload temporary files (FILE_UPLOAD_TEMP_DIR) untouched for this long belong to no live request
# (the web process that wrote them was killed mid-upload): the sweep deletes them.
UPLOAD_TEMP_MAX_AGE_HOURS = env_int("UPLOAD_TEMP_MAX_AGE_HOURS", 6, minimum=1)
# Uploads: the model scan and the dataset profile run in a child process. The upload request waits
# at most UPLOAD_SCAN_INLINE_SECONDS for it (0: always in the background); a slower file is stored
# as pending and a worker runs the check with the full limits below. A pending check older than
# UPLOAD_SCAN_PENDING_TIMEOUT_S that no worker is running is refused by the sweep.
UPLOAD_SCAN_INLINE_SECONDS = env_int("UPLOAD_SCAN_INLINE_SECONDS", 10, minimum=0)
UPLOAD_SCAN_TIME_LIMIT_S = env_int("UPLOAD_SCAN_TIME_LIMIT_S", 120, minimum=5)
UPLOAD_SCAN_MEMORY_LIMIT_MB = env_int("UPLOAD_SCAN_MEMORY_LIMIT_MB", 512, minimum=128)
UPLOAD_SCAN_PENDING_TIMEOUT_S = env_int("UPLOAD_SCAN_PENDING_TIMEOUT_S", 1800, minimum=60)
if UPLOAD_SCAN_PENDING_TIMEOUT_S <= UPLOAD_SCAN_TIME_LIMIT_S + 60:
    raise ConfigError(
        f"UPLOAD_SCAN_PENDING_TIMEOUT_S ({UPLOAD_SCAN_PENDING_TIMEOUT_S}) must be more than a minute "
        f"longer than UPLOAD_SCAN_TIME_LIMIT_S ({UPLOAD_SCAN_TIME_LIMIT_S}), or the sweep would refuse "
        "scans a worker is still running."
    )
# How long /healthz waits for a worker to answer a ping.
HEALTH_WORKER_TIMEOUT = float(env_int("HEALTH_WORKER_TIMEOUT_MS", 2000, minimum=100)) / 1000

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}, "weasyprint": {"level": "WARNING"}, "fontTools": {"level": "WARNING"}},
}

for _folder in (DATA_DIR, MEDIA_ROOT, DATA_DIR / "uploads-tmp", *([STATIC_ROOT] if DEBUG else [])):
    _folder.mkdir(parents=True, exist_ok=True)

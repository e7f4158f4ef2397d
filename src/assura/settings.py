"""The one settings module: everything that varies comes from the environment.

See docs/configuration.md for each variable. Parsing lives in `assura.config`, so a
wrong value stops start-up with one sentence naming the variable.
"""

from __future__ import annotations

from pathlib import Path

from django.utils.translation import gettext_lazy as _

from assura import config

ENV = config.Env.from_os()
BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = config.data_dir(ENV)

SECRET_KEY = config.secret_key(ENV, DATA_DIR)
DEBUG = ENV.flag("DEBUG")
ALLOWED_HOSTS = ENV.items("ALLOWED_HOSTS", ("127.0.0.1", "localhost", "[::1]"))
CSRF_TRUSTED_ORIGINS = ENV.items("CSRF_TRUSTED_ORIGINS")
SITE_URL = ENV.text("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks_db",
    "django_htmx",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "auditlog",
    "assura.core",
    "assura.notify",
    "assura.calendars",
    "assura.commitments",
    "assura.sla",
    "assura.desk",
    "assura.connect",
    "assura.intake",
    "assura.voice",
    "assura.web",
    "assura.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "assura.core.middleware.UserPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "assura.core.middleware.AuditMiddleware",
]

ROOT_URLCONF = "assura.urls"
WSGI_APPLICATION = "assura.wsgi.application"
AUTH_USER_MODEL = "core.User"
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "assura.web.context.navigation",
            ],
        },
    },
]

DATABASES = {"default": config.database(ENV, DATA_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TASKS = {
    "default": {
        "BACKEND": ENV.text("ASSURA_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = config.language_code(ENV)
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = ENV.zone("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_ROOT = Path(ENV.text("ASSURA_MEDIA_DIR") or DATA_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or ENV.flag("ASSURA_PLAIN_STATIC")
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True

globals().update(config.email(ENV))

# Case attachments: a size limit and the types accepted (judged by file name).
ASSURA_ATTACHMENT_MAX_BYTES = ENV.number("ASSURA_ATTACHMENT_MAX_MB", 20, minimum=1) * 1024 * 1024
ASSURA_ATTACHMENT_TYPES = frozenset(
    ENV.items(
        "ASSURA_ATTACHMENT_TYPES",
        (
            "image/png",
            "image/jpeg",
            "image/gif",
            "image/webp",
            "application/pdf",
            "text/plain",
            "text/csv",
            "application/zip",
            "application/x-zip-compressed",
            "application/msword",
            "application/vnd.ms-excel",
            "application/vnd.ms-powerpoint",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "message/rfc822",
        ),
    )
)
# A resolved case reopened within this many days counts as a second attempt (二次解决).
ASSURA_REOPEN_WINDOW_DAYS = ENV.number("ASSURA_REOPEN_WINDOW_DAYS", 14, minimum=1)
# Minutes a breach notice waits before it goes to the customer, so the agent can reword
# the reason first (0: at once).
ASSURA_NOTICE_DELAY_MINUTES = ENV.number("ASSURA_NOTICE_DELAY_MINUTES", 0, minimum=0)

# How many days of cases `assura demo` creates (tests use a few).
ASSURA_DEMO_DAYS = ENV.number("ASSURA_DEMO_DAYS", 90, minimum=1)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = ENV.flag("SESSION_COOKIE_SECURE")
CSRF_COOKIE_SECURE = ENV.flag("CSRF_COOKIE_SECURE")

# Reverse proxies in front of assura: X-Forwarded-For counts only behind them
# (assura.core.http.client_address, for the audit log and the API's budgets).
ASSURA_PROXIES = ENV.number("ASSURA_PROXIES", 0, minimum=0)

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "assura.api.schema.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["assura.api.throttling.PersonRateThrottle"],
    # Requests per person (token owner): N/sec, N/min, N/hour or N/day.
    "DEFAULT_THROTTLE_RATES": {"user": ENV.text("ASSURA_API_RATE_LIMIT", "1200/min")},
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "assura.api.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "assura.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "assura.api.filtering.FilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "EXCEPTION_HANDLER": "assura.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "assura API",
    "DESCRIPTION": "Service commitments, cases, SLA clocks and breaches.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "ENUM_NAME_OVERRIDES": {
        "PriorityEnum": "assura.commitments.models.Priority",
        "CaseEventEnum": "assura.commitments.models.CaseEvent",
        "CaseStatusEnum": "assura.desk.models.Status",
        "ClockStatusEnum": "assura.sla.models.ClockStatus",
        "CompensationStatusEnum": "assura.sla.models.CompensationStatus",
        "NoticeLanguageEnum": "assura.sla.models.NoticeLanguage",
        "OrganisationKindEnum": "assura.core.models.OrganisationKind",
        "MessageKindEnum": "assura.desk.models.MessageKind",
        "SpecialDayKindEnum": "assura.calendars.models.SpecialDayKind",
        "FollowUpKindEnum": "assura.voice.models.ProgrammeKind",
    },
    # The reference page's assets come from the drf-spectacular-sidecar package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True, "displayOperationId": True},
}

AUDITLOG_INCLUDE_ALL_MODELS = False
AUDITLOG_STORE_JSON_CHANGES = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": config.log_level(ENV)},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django_tasks_db": {"level": "WARNING"},
        "django.tasks": {"level": "WARNING"},
    },
}

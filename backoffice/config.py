"""Configuration classes, read from the environment with working embedded defaults."""
import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("BACKOFFICE_INSTANCE_PATH", PROJECT_ROOT / "instance"))
TRANSLATIONS_DIR = PROJECT_ROOT / "translations"

_INSECURE_DEFAULT = "dev-insecure-change-me"


def _translation_domains() -> list[str]:
    """Every catalog under translations/en is a domain: one .po file per feature area.

    The interface is written in French (the msgids), so a missing translation can never show
    English to a French user; English is the translated catalog.
    """
    found = sorted(p.stem for p in (TRANSLATIONS_DIR / "en" / "LC_MESSAGES").glob("*.po"))
    return found or ["messages"]


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{INSTANCE_DIR / 'backoffice.sqlite3'}"
    # Accept the common short forms and use psycopg 3.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


class Config:
    ENV_NAME = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY", _INSECURE_DEFAULT)
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL") or None
    INSTANCE_PATH = str(INSTANCE_DIR)
    PHOTO_FOLDER = str(INSTANCE_DIR / "photos")
    FEED_FOLDER = os.environ.get("FEED_FOLDER", str(INSTANCE_DIR / "feeds"))
    REPORT_FOLDER = os.environ.get("REPORT_FOLDER", str(INSTANCE_DIR / "reports"))
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    PHOTO_MAX_BYTES = int(os.environ.get("PHOTO_MAX_BYTES", 8 * 1024 * 1024))

    # i18n: French by default, English by user setting.
    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = "Europe/Paris"
    LANGUAGES = {"fr": "Français", "en": "English"}
    BABEL_DOMAIN = ";".join(_translation_domains())
    BABEL_TRANSLATION_DIRECTORIES = ";".join([str(TRANSLATIONS_DIR)] * len(_translation_domains()))
    WTF_I18N_ENABLED = True

    # Flask-Security-Too
    SECURITY_PASSWORD_SALT = os.environ.get("SECURITY_PASSWORD_SALT", _INSECURE_DEFAULT)
    SECURITY_PASSWORD_HASH = "argon2"
    SECURITY_REGISTERABLE = False
    SECURITY_RECOVERABLE = False
    SECURITY_CHANGEABLE = True
    SECURITY_SEND_PASSWORD_CHANGE_EMAIL = False
    SECURITY_TRACKABLE = True
    SECURITY_LOGOUT_METHODS = ["POST"]
    SECURITY_RETURN_GENERIC_RESPONSES = True
    SECURITY_POST_LOGIN_VIEW = "/"
    SECURITY_POST_LOGOUT_VIEW = "/"
    SECURITY_EMAIL_VALIDATOR_ARGS = {"check_deliverability": False}
    SECURITY_MSG_LOGIN = ("Please log in to access this page.", "info")
    SECURITY_USERNAME_ENABLE = False
    SECURITY_URL_PREFIX = "/auth"

    # Cookies: never readable from scripts, not sent cross-site.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False

    # Login throttling (Flask-Limiter); Redis in production so that workers share counts.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or "memory://"
    LOGIN_FAILURES_PER_MINUTE = 5

    # Mail (flask-mailman over SMTP)
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", 25))
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "0") == "1"
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "backoffice@demo.example")
    # Embedded mode has no SMTP server: mails go to the console unless MAIL_SERVER is set.
    MAIL_BACKEND = "smtp" if os.environ.get("MAIL_SERVER") else "console"

    # Nightly send time (HH:MM, Europe/Paris)
    SEND_SCHEDULE = os.environ.get("SEND_SCHEDULE", "02:00")
    FLASK_ADMIN_SWATCH = "default"


class DevelopmentConfig(Config):
    pass


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "test-secret-key"
    SECURITY_PASSWORD_SALT = "test-salt"
    # A fast hash, as Flask-Security-Too's own tests do; argon2 is checked in one test.
    SECURITY_PASSWORD_HASH = "plaintext"
    SQLALCHEMY_DATABASE_URI = _database_url() if os.environ.get("DATABASE_URL") else "sqlite:///" + str(
        INSTANCE_DIR / "test.sqlite3")
    MAIL_BACKEND = "locmem"
    # Tests commit after every step; not waiting for the disk on each commit keeps PostgreSQL runs fast.
    if SQLALCHEMY_DATABASE_URI.startswith("postgresql"):
        SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True,
                                     "connect_args": {"options": "-c synchronous_commit=off"}}
    # Surface errors Flask-Admin would otherwise turn into a "Failed to create record." flash.
    FLASK_ADMIN_RAISE_ON_VIEW_EXCEPTION = True
    RATELIMIT_STORAGE_URI = "memory://"


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or os.environ.get("REDIS_URL") or "memory://"

    @classmethod
    def check(cls) -> None:
        """Refuse to start with the development secrets."""
        for name in ("SECRET_KEY", "SECURITY_PASSWORD_SALT"):
            value = os.environ.get(name, "")
            if not value or value == _INSECURE_DEFAULT or len(value) < 16:
                raise RuntimeError(
                    f"{name} must be set to a random value of at least 16 characters in production"
                )


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_for(name: str | None):
    """The config class for ``name`` (default: BACKOFFICE_ENV, else development)."""
    name = name or os.environ.get("BACKOFFICE_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"Unknown BACKOFFICE_ENV {name!r}; use one of {', '.join(CONFIGS)}") from None

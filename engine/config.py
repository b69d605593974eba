"""Every PORTICO_* environment variable, declared once with its default.

Nothing else in the code base reads os.environ for Portico settings: call
`load()` (or `current()`) and read the attribute. Bad configuration fails fast
with a one-line ConfigError saying what to set.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field, fields
from pathlib import Path

from engine.errors import ConfigError

# name -> (default, help). The order is the order `portico config` prints.
VARIABLES: dict[str, tuple[str | None, str]] = {
    "PORTICO_ENV": ("development", "development or production"),
    "PORTICO_SECRET_KEY": (
        None,
        "signs sessions; keys for audit HMAC and file encryption derive from it; required in production",
    ),
    "PORTICO_MONGODB_URI": (None, "MongoDB URI; unset in development = embedded SecantusDB"),
    "PORTICO_BROKER_URL": (None, "redis:// or amqp:// broker; unset in development = embedded redis-server"),
    "PORTICO_REDIS_URL": (None, "Redis for rate limits; defaults to the broker URL when that is redis://"),
    "PORTICO_SMTP_URL": (None, "smtp://[user:pass@]host:port[?starttls=1]; unset in development = mail sink"),
    "PORTICO_MAIL_FROM": ("Portico <no-reply@portico.local>", "From: header of outgoing mail"),
    "PORTICO_DATA_DIR": ("./var", "embedded database, Redis and secrets live here"),
    "PORTICO_HOST": ("127.0.0.1", "address the web server binds"),
    "PORTICO_PORT": ("5000", "port the web server binds"),
    "PORTICO_BASE_URL": (None, "public URL used in mails; defaults to http://HOST:PORT"),
    "PORTICO_BOOTSTRAP_ADMIN_EMAIL": (None, "on an empty database, create this organization admin"),
    "PORTICO_BOOTSTRAP_ADMIN_PASSWORD": (None, "password for the bootstrap admin"),
    "PORTICO_SESSION_IDLE_MINUTES": ("30", "a session unused this long is ended"),
    "PORTICO_SESSION_MAX_HOURS": ("12", "a session older than this is ended whatever its use"),
    "PORTICO_TOKEN_HOURS": ("12", "lifetime of API bearer tokens"),
    "PORTICO_LOGIN_LIMIT": ("5 per minute", "login attempts allowed per account (Flask-Limiter syntax)"),
    "PORTICO_LOGIN_IP_LIMIT": ("30 per minute", "failed logins allowed per client IP, all accounts together"),
    "PORTICO_PASSWORD_RESET_LIMIT": ("3 per 15 minutes", "password reset mails asked for per e-mail address"),
    "PORTICO_TRUSTED_PROXIES": (
        "0",
        "reverse proxies in front of the web server whose X-Forwarded-For/-Proto are believed (deploy/: 1)",
    ),
    "PORTICO_MAX_UPLOAD_MB": ("20", "largest accepted upload"),
    "PORTICO_WEB_WORKERS": ("2", "gunicorn worker processes for `portico web`"),
    "PORTICO_LOG_LEVEL": ("INFO", "log level"),
    "PORTICO_PAYMENT_GATEWAY": ("sandbox", "sandbox (built-in test-mode processor) or stripe"),
    "PORTICO_STRIPE_SECRET_KEY": (
        None,
        "Stripe secret key (sk_…), needed with PORTICO_PAYMENT_GATEWAY=stripe",
    ),
    "PORTICO_STRIPE_PUBLISHABLE_KEY": (
        None,
        "Stripe publishable key (pk_…): with it the portal's pay page uses Stripe's Payment Element",
    ),
    "PORTICO_STRIPE_WEBHOOK_SECRET": (
        None,
        "signing secret (whsec_…) of the Stripe webhook endpoint /api/v1/stripe/webhook; unset = the endpoint answers 404",
    ),
}


def _default(name: str) -> str | None:
    return VARIABLES[name][0]


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    secret_key: str = ""
    mongodb_uri: str | None = None
    broker_url: str | None = None
    redis_url: str | None = None
    smtp_url: str | None = None
    mail_from: str = _default("PORTICO_MAIL_FROM") or ""
    data_dir: Path = Path("./var")
    host: str = "127.0.0.1"
    port: int = 5000
    base_url: str = ""
    bootstrap_admin_email: str | None = None
    bootstrap_admin_password: str | None = None
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    token_hours: int = 12
    login_limit: str = "5 per minute"
    login_ip_limit: str = "30 per minute"
    password_reset_limit: str = "3 per 15 minutes"  # noqa: S105 - a rate, not a password
    trusted_proxies: int = 0
    max_upload_mb: int = 20
    web_workers: int = 2
    payment_gateway: str = "sandbox"
    stripe_secret_key: str | None = None
    stripe_publishable_key: str | None = None
    stripe_webhook_secret: str | None = None
    log_level: str = "INFO"
    extra: dict = field(default_factory=dict)

    @property
    def production(self) -> bool:
        return self.env == "production"

    def derived_key(self, purpose: str) -> bytes:
        """A 32-byte key for one purpose (audit chain, file encryption, tokens).

        Derived from the secret key so that a deployment has one secret to
        guard, and so that none of these keys is ever stored in the database.
        """
        return hmac.new(self.secret_key.encode(), f"portico/{purpose}".encode(), hashlib.sha256).digest()

    def with_(self, **changes) -> Settings:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return Settings(**values)


def _or_default(environ: dict[str, str], name: str) -> str:
    """The variable's value, else its declared default; only for variables whose default is a string."""
    default = _default(name)
    if default is None:
        raise KeyError(f"{name} has no default: read it with environ.get")
    return environ.get(name, default)


def _int(environ, name: str) -> int:
    raw = environ.get(name, _default(name))
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def _trusted_proxies(environ) -> int:
    hops = _int(environ, "PORTICO_TRUSTED_PROXIES")
    if (
        not 0 <= hops <= 5
    ):  # more hops than any sane layout: almost surely a mistake that trusts spoofed headers
        raise ConfigError(f"PORTICO_TRUSTED_PROXIES must be between 0 and 5, got {hops}")
    return hops


def _payment_gateway(environ) -> str:
    gateway = _or_default(environ, "PORTICO_PAYMENT_GATEWAY")
    if gateway not in ("sandbox", "stripe"):
        raise ConfigError(f"PORTICO_PAYMENT_GATEWAY must be sandbox or stripe, got {gateway!r}")
    if gateway == "stripe" and not environ.get("PORTICO_STRIPE_SECRET_KEY"):
        raise ConfigError("PORTICO_PAYMENT_GATEWAY=stripe needs PORTICO_STRIPE_SECRET_KEY")
    return gateway


def _dev_secret(data_dir: Path) -> str:
    """A development secret kept under the data dir so sessions survive restarts."""
    path = data_dir / "secret.json"
    if path.exists():
        return json.loads(path.read_text())["secret_key"]
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(json.dumps({"secret_key": key}))
    path.chmod(0o600)
    return key


def load(environ: dict | None = None) -> Settings:
    """Read the PORTICO_* variables. Raises ConfigError with a one-line reason."""
    env_map: dict[str, str] = dict(os.environ if environ is None else environ)
    for name in env_map:
        if name.startswith("PORTICO_") and name not in VARIABLES and not name.startswith("PORTICO_TEST_"):
            raise ConfigError(f"unknown setting {name}; known: {', '.join(VARIABLES)}")
    env = _or_default(env_map, "PORTICO_ENV")
    if env not in ("development", "production"):
        raise ConfigError(f"PORTICO_ENV must be development or production, got {env!r}")
    data_dir = Path(_or_default(env_map, "PORTICO_DATA_DIR")).resolve()
    broker = env_map.get("PORTICO_BROKER_URL") or None
    if broker and not broker.startswith(("redis://", "rediss://", "amqp://", "amqps://")):
        raise ConfigError("PORTICO_BROKER_URL must start with redis:// or amqp://")
    redis_url = env_map.get("PORTICO_REDIS_URL") or (
        broker if broker and broker.startswith("redis") else None
    )
    secret = env_map.get("PORTICO_SECRET_KEY") or ""
    if env == "production":
        missing = [
            n
            for n in ("PORTICO_SECRET_KEY", "PORTICO_MONGODB_URI", "PORTICO_BROKER_URL", "PORTICO_SMTP_URL")
            if not env_map.get(n)
        ]
        if missing:
            raise ConfigError(f"production needs {', '.join(missing)} set")
        if len(secret) < 32:
            raise ConfigError("PORTICO_SECRET_KEY must be at least 32 characters in production")
        if not redis_url:
            raise ConfigError("production with an amqp:// broker needs PORTICO_REDIS_URL for rate limits")
    elif not secret:
        secret = _dev_secret(data_dir)
    host = _or_default(env_map, "PORTICO_HOST")
    port = _int(env_map, "PORTICO_PORT")
    if env_map.get("PORTICO_STRIPE_PUBLISHABLE_KEY") and _payment_gateway(env_map) != "stripe":
        # Stripe.js would collect a card for a PaymentIntent the sandbox cannot make.
        raise ConfigError("PORTICO_STRIPE_PUBLISHABLE_KEY needs PORTICO_PAYMENT_GATEWAY=stripe")
    return Settings(
        env=env,
        secret_key=secret,
        mongodb_uri=env_map.get("PORTICO_MONGODB_URI") or None,
        broker_url=broker,
        redis_url=redis_url,
        smtp_url=env_map.get("PORTICO_SMTP_URL") or None,
        mail_from=_or_default(env_map, "PORTICO_MAIL_FROM"),
        data_dir=data_dir,
        host=host,
        port=port,
        base_url=(env_map.get("PORTICO_BASE_URL") or f"http://{host}:{port}").rstrip("/"),
        bootstrap_admin_email=env_map.get("PORTICO_BOOTSTRAP_ADMIN_EMAIL") or None,
        bootstrap_admin_password=env_map.get("PORTICO_BOOTSTRAP_ADMIN_PASSWORD") or None,
        session_idle_minutes=_int(env_map, "PORTICO_SESSION_IDLE_MINUTES"),
        session_max_hours=_int(env_map, "PORTICO_SESSION_MAX_HOURS"),
        token_hours=_int(env_map, "PORTICO_TOKEN_HOURS"),
        login_limit=_or_default(env_map, "PORTICO_LOGIN_LIMIT"),
        login_ip_limit=_or_default(env_map, "PORTICO_LOGIN_IP_LIMIT"),
        password_reset_limit=_or_default(env_map, "PORTICO_PASSWORD_RESET_LIMIT"),
        trusted_proxies=_trusted_proxies(env_map),
        max_upload_mb=_int(env_map, "PORTICO_MAX_UPLOAD_MB"),
        web_workers=_int(env_map, "PORTICO_WEB_WORKERS"),
        payment_gateway=_payment_gateway(env_map),
        stripe_secret_key=env_map.get("PORTICO_STRIPE_SECRET_KEY") or None,
        stripe_publishable_key=env_map.get("PORTICO_STRIPE_PUBLISHABLE_KEY") or None,
        stripe_webhook_secret=env_map.get("PORTICO_STRIPE_WEBHOOK_SECRET") or None,
        log_level=_or_default(env_map, "PORTICO_LOG_LEVEL"),
    )


_current: Settings | None = None


def current() -> Settings:
    """The settings of this process, loaded once."""
    global _current
    if _current is None:
        _current = load()
    return _current


def install(settings: Settings) -> Settings:
    """Make `settings` the process-wide settings (app factory, tests, workers)."""
    global _current
    _current = settings
    return settings

"""Configuration: declared once, loaded from defaults, ``config/*.toml``, then ``IDP_*``.

Every key is a field of :class:`Settings` with its type, its default and its
meaning (``metadata["doc"]``), so a misspelt or mistyped setting is a mypy
error. :data:`OPTIONS` lists the same declarations for code that reads them.
``load_settings`` layers the sources and validates the result, raising
:class:`ConfigError` with a message that says what to fix.
"""

from __future__ import annotations

import copy
import difflib
import os
import re
import secrets
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar, get_origin, get_type_hints
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from idp.outbound.policy import AllowEntry

T = TypeVar("T")


class ConfigError(Exception):
    """The configuration cannot be used; the message says what to change."""


def _option(default: T, doc: str, *, secret: bool = False, hidden: bool = False) -> T:
    """Declare one setting: its default and meaning, kept beside its typed field.

    ``secret``: accepted only from the environment, never from ``config/*.toml``.
    ``hidden``: may hold a password, so its value is never shown in a message.
    """
    metadata = {"doc": doc, "secret": secret, "hidden": hidden or secret}
    if isinstance(default, list):
        return field(default_factory=lambda: copy.copy(default), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Validated settings, one typed field per option; build them with :func:`load_settings`."""

    issuer: str = _option(
        "http://localhost:5000",
        "Public base URL of Avain; the OpenID Connect `iss`. Must be https in production.",
    )
    database_url: str = _option(
        "", "SQLAlchemy URL. Empty means SQLite at instance/avain.db.", hidden=True
    )
    redis_url: str = _option(
        "",
        "Redis URL for shared short-lived state (throttling). Empty: kept in the database.",
        hidden=True,
    )
    secret_key: str = _option(
        "",
        "Signs cookies and encrypts signing keys at rest. Empty: generated into "
        "instance/secret_key on first start (development only).",
        secret=True,
    )
    instance_path: str = _option(
        "", "Folder for the SQLite database, dev secret and mail outbox. Empty: ./instance."
    )
    languages: list[str] = _option(["fi", "sv", "en"], "Languages of the customer pages.")
    default_language: str = _option("en", "Language when the browser states no preference.")
    time_zone: str = _option(
        "Europe/Helsinki",
        "IANA time zone in which the customer pages show dates and times (stored times are "
        "UTC), e.g. Europe/Stockholm.",
    )
    session_lifetime: int = _option(14 * 24 * 3600, "SSO session lifetime in seconds.")
    code_lifetime: int = _option(60, "Authorization code lifetime in seconds.")
    access_token_lifetime: int = _option(600, "Access token lifetime in seconds.")
    access_token_signing_alg: str = _option(
        "RS256",
        "Algorithm of the JWT access tokens (RFC 9068): RS256, which every conforming "
        "resource server supports, or ES256, a tenth of the signing cost, once every "
        "resource server accepts it. ID tokens follow each client's registration.",
    )
    id_token_lifetime: int = _option(600, "ID token lifetime in seconds.")
    refresh_token_lifetime: int = _option(30 * 24 * 3600, "Refresh token lifetime in seconds.")
    key_publish_delay: int = _option(
        3600, "Seconds a rotated-in key is published in the JWKS before it starts to sign."
    )
    initial_access_token: str = _option(
        "",
        "Bearer token required for Dynamic Client Registration. Empty: registration off.",
        secret=True,
    )
    login_max_failures: int = _option(
        5, "Failed logins per account (and x4 per client IP) before throttling starts."
    )
    login_throttle_window: int = _option(900, "Seconds over which failed logins are counted.")
    registration_max_per_ip: int = _option(
        10, "Account registrations per client IP within login_throttle_window."
    )
    mail_max_per_address: int = _option(
        3,
        "Mails to one address (reset links, verification, 'someone tried to register') "
        "within login_throttle_window; further ones are not sent, and the page answers "
        "as usual. Per client IP the limit is registration_max_per_ip.",
    )
    client_assertion_max_lifetime: int = _option(
        300,
        "Longest lifetime (exp - iat, or exp - now without iat) of a private_key_jwt client "
        "assertion, in seconds; longer ones are refused with invalid_client (RFC 7523 §3).",
    )
    webauthn_rp_id: str = _option(
        "", "WebAuthn relying party id (a registrable domain). Empty: the issuer's host."
    )
    webauthn_origins: list[str] = _option(
        [], "Origins allowed to use passkeys. Empty: the issuer's origin."
    )
    controller_name: str = _option(
        "Avain Demo Oy", "The data controller named on consent screens and receipts."
    )
    theme_file: str = _option(
        "",
        "The deployment's brand: a TOML file with a [theme] table (product name, logo, "
        "colours, favicon, support contact, legal links; see "
        "config/themes/rengasverkkokauppa/theme.toml). Empty: the neutral Avain theme.",
    )
    purposes_file: str = _option(
        "config/purposes.toml",
        "The consent catalogue: purposes, claims, recipients and privacy notices.",
    )
    consent_events_per_minute: int = _option(
        30,
        "Consent events one customer may record per minute (repeats that change nothing "
        "are not recorded and do not count). Beyond it a consent the customer gives gets a "
        "429 page and nothing is recorded; a withdrawal, refusal, objection or restriction "
        "is never refused (GDPR Art. 7(3)). At least the number of purposes one consent "
        "screen can ask about.",
    )
    disclosure_log: bool = _option(
        True,
        "Record every release of customer claims to a partner (ID token, userinfo, "
        "introspection, token exchange) in the disclosure log that the customer sees on "
        "the account page and in their export. Keep it on: GDPR Art. 15(1)(c) gives the "
        "customer the right to know the recipients. Off only to measure what it costs "
        "(bench/disclosures.py).",
    )
    smtp_host: str = _option("", "SMTP server for mail. Empty: mail goes to instance/outbox.")
    smtp_port: int = _option(25, "SMTP port.")
    smtp_username: str = _option("", "SMTP user name, if the server wants one.")
    smtp_password: str = _option(
        "", "SMTP password (set it in the environment, never in a file).", secret=True
    )
    smtp_starttls: bool = _option(False, "Use STARTTLS with the SMTP server.")
    mail_from: str = _option(
        "no-reply@localhost",
        'Sender of outgoing mail. Without a display name ("Name <address>"), mail comes '
        "from the theme's product name.",
    )
    cache_check_seconds: float = _option(
        1.0,
        "How often, at most, a worker asks the database whether clients, signing keys or "
        "instance secrets changed since it read them (it keeps them in memory). Another "
        "worker's change reaches it within this time; its own change at once.",
    )
    backchannel_timeout: float = _option(5.0, "Seconds to wait for a back-channel logout POST.")
    backchannel_max_attempts: int = _option(
        8, "Delivery attempts before a logout token is dropped."
    )
    outbound_allow_hosts: list[str] = _option(
        [],
        "host[:port] entries (e.g. localhost:5001, [::1]:5002) that Avain may call although "
        "they are IP literals or resolve to loopback or private addresses: back-channel "
        "logout receivers on the operator's own network, such as the demo partners. Without "
        "a port, every port of the host. Empty: only public hosts.",
    )
    outbound_allow_http: bool = _option(
        False,
        "Let confidential clients register http back-channel logout URIs (Back-Channel "
        "Logout 1.0 §2.2 leaves it to the OP). Development only: refused with an https issuer.",
    )
    trust_proxy: bool = _option(
        False, "Trust X-Forwarded-For/Proto from one reverse proxy in front of Avain."
    )
    metrics_token: str = _option(
        "",
        "Bearer token that Prometheus presents to scrape /metrics (at least 32 characters, "
        "RFC 6750 token characters). Empty: there is no /metrics route (404, as any unknown "
        "path) and requests are not timed.",
        secret=True,
    )

    @property
    def issuer_is_https(self) -> bool:
        return self.issuer.startswith("https://")

    @property
    def values(self) -> dict[str, Any]:
        """Every setting by name (a copy), for code that goes through all of them."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Option:
    """One field of :class:`Settings` as data: ``type`` is how a raw value is converted."""

    name: str
    type: type
    default: Any
    doc: str
    secret: bool = False
    hidden: bool = False


def _options() -> tuple[Option, ...]:
    hints = get_type_hints(Settings)
    out = []
    for f in fields(Settings):
        default = f.default_factory() if callable(f.default_factory) else f.default
        kind = get_origin(hints[f.name]) or hints[f.name]
        meta = f.metadata
        out.append(Option(f.name, kind, default, meta["doc"], meta["secret"], meta["hidden"]))
    return tuple(out)


OPTIONS: tuple[Option, ...] = _options()
_BY_NAME = {o.name: o for o in OPTIONS}


def _unknown(name: str, prefix: str = "") -> str:
    """What to do about a key that is no setting: the nearest name, or where they are listed."""
    close = difflib.get_close_matches(name, _BY_NAME, n=1)
    if close:
        return f"; did you mean {prefix}{close[0]}?"
    return "; the settings are the fields of Settings in idp/config.py"


def _coerce(option: Option, raw: Any, source: str) -> Any:
    try:
        if option.type is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(raw)
        if option.type is list:
            if isinstance(raw, list):
                return [str(v) for v in raw]
            return [part.strip() for part in str(raw).split(",") if part.strip()]
        return option.type(raw)
    except (TypeError, ValueError):
        shown = "(hidden)" if option.hidden else repr(raw)
        raise ConfigError(
            f"{source}: {option.name} must be a {option.type.__name__}, got {shown}"
        ) from None


def _from_files(config_dir: Path) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if not config_dir.is_dir():
        return values
    for path in sorted(config_dir.glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        section = data.get("avain", {})
        if not isinstance(section, dict):
            raise ConfigError(f"{path}: [avain] must be a table")
        for key, raw in section.items():
            if key not in _BY_NAME:
                raise ConfigError(f"{path}: unknown key avain.{key}" + _unknown(key, "avain."))
            if _BY_NAME[key].secret:
                raise ConfigError(
                    f"{path}: {key} is a secret; set IDP_{key.upper()} in the environment instead"
                )
            values[key] = _coerce(_BY_NAME[key], raw, str(path))
    return values


def load_settings(
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
    config_dir: Path | None = None,
) -> Settings:
    """Layer defaults, config files, ``IDP_*`` environment and ``overrides``; validate."""
    env = os.environ if environ is None else environ
    values = {o.name: o.default for o in OPTIONS}
    cfg_dir = config_dir or Path(env.get("IDP_CONFIG_DIR", "config"))
    values.update(_from_files(cfg_dir))
    for option in OPTIONS:
        key = f"IDP_{option.name.upper()}"
        if key in env:
            values[option.name] = _coerce(option, env[key], key)
    for key, raw in (overrides or {}).items():
        if key not in _BY_NAME:
            raise ConfigError(f"unknown setting {key}" + _unknown(key))
        values[key] = _coerce(_BY_NAME[key], raw, "test config")
    _finish(values)
    return Settings(**values)


def _finish(values: dict[str, Any]) -> None:
    instance = Path(values["instance_path"] or "instance").resolve()
    values["instance_path"] = str(instance)
    issuer = values["issuer"].rstrip("/")
    parts = urlsplit(issuer)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            "IDP_ISSUER must be an absolute http(s) URL without query or fragment, "
            f"e.g. https://login.example.com (got {issuer!r})"
        )
    if parts.scheme == "http" and parts.hostname not in {"localhost", "127.0.0.1", "::1"}:
        raise ConfigError("IDP_ISSUER must use https unless it is localhost")
    values["issuer"] = issuer
    if not values["webauthn_rp_id"]:
        values["webauthn_rp_id"] = parts.hostname or ""
    if not values["webauthn_origins"]:
        values["webauthn_origins"] = [f"{parts.scheme}://{parts.netloc}"]
    host = parts.hostname or ""
    rp_id = values["webauthn_rp_id"]
    if host != rp_id and not host.endswith("." + rp_id):
        raise ConfigError(
            f"webauthn_rp_id {rp_id!r} must be the issuer's host or a parent domain of it "
            f"({host!r})"
        )
    if not values["database_url"]:
        values["database_url"] = f"sqlite:///{instance / 'avain.db'}"
    if not values["database_url"].split(":", 1)[0].startswith(("sqlite", "postgresql")):
        raise ConfigError("IDP_DATABASE_URL must be a sqlite:// or postgresql:// URL")
    if values["redis_url"] and not values["redis_url"].startswith(("redis://", "rediss://")):
        raise ConfigError("IDP_REDIS_URL must start with redis:// or rediss://")
    if not values["secret_key"]:
        if parts.scheme == "https":
            raise ConfigError(
                "IDP_SECRET_KEY is required when the issuer is https; generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            )
        values["secret_key"] = _dev_secret(instance)
    if len(values["secret_key"]) < 32:
        raise ConfigError("IDP_SECRET_KEY must be at least 32 characters")
    for lang in values["languages"]:
        if lang not in {"fi", "sv", "en"}:
            raise ConfigError(f"languages: {lang!r} has no translation (use fi, sv, en)")
    if values["default_language"] not in values["languages"]:
        raise ConfigError("default_language must be one of languages")
    try:
        ZoneInfo(values["time_zone"])
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"time_zone: {values['time_zone']!r} is not an IANA time zone (e.g. Europe/Helsinki)"
        ) from None
    for name in (
        "session_lifetime",
        "code_lifetime",
        "access_token_lifetime",
        "id_token_lifetime",
        "refresh_token_lifetime",
        "login_max_failures",
        "login_throttle_window",
        "registration_max_per_ip",
        "mail_max_per_address",
        "client_assertion_max_lifetime",
        "backchannel_max_attempts",
        "consent_events_per_minute",
    ):
        if values[name] <= 0:
            raise ConfigError(f"{name} must be positive")
    if values["access_token_signing_alg"] not in {"RS256", "ES256"}:
        raise ConfigError("access_token_signing_alg must be RS256 or ES256")
    if values["key_publish_delay"] < 0:
        raise ConfigError("key_publish_delay must not be negative")
    if not 0 <= values["cache_check_seconds"] <= 60:
        raise ConfigError("cache_check_seconds must be between 0 and 60")
    _check_metrics_token(values["metrics_token"])
    for entry in values["outbound_allow_hosts"]:
        try:
            AllowEntry.parse(entry)
        except ValueError:
            raise ConfigError(
                f"outbound_allow_hosts: {entry!r} is not host or host:port "
                "(e.g. localhost:5001 or [::1]:5001)"
            ) from None
    if values["outbound_allow_http"] and parts.scheme == "https":
        raise ConfigError(
            "outbound_allow_http is for development with an http://localhost issuer; "
            "give the back-channel receivers https URIs instead"
        )


# RFC 6750 §2.1 b64token: what a Bearer credential may hold (no spaces, ASCII only)
_BEARER_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


def _check_metrics_token(token: str) -> None:
    """/metrics tells who signs in how often and how the queues stand: its token is a secret
    of the same weight as a password, long and random, and fit to send in a header."""
    fix = "generate one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
    if not token:
        return
    if len(token) < 32:
        raise ConfigError(
            f"IDP_METRICS_TOKEN must be at least 32 characters (it has {len(token)}); {fix}, "
            "or leave it empty to turn /metrics off"
        )
    if not _BEARER_TOKEN.fullmatch(token):
        raise ConfigError(
            "IDP_METRICS_TOKEN may hold only letters, digits and - . _ ~ + / (then = at the "
            f"end), as a Bearer token must (RFC 6750 §2.1); {fix}"
        )


def _dev_secret(instance: Path) -> str:
    path = instance / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    instance.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secret)
    return secret

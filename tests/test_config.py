"""``idp/config.py``: where a setting comes from, how it is converted and checked, and what
an operator reads when a value is wrong. Sources, lowest first: the defaults declared on
``Settings``, ``config/*.toml`` (an ``[avain]`` table), ``IDP_*`` environment variables, and
the overrides ``create_app(test_config)`` passes."""

from __future__ import annotations

import dataclasses
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any, get_type_hints

import pytest

from idp import create_app
from idp.config import OPTIONS, ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s" * 40
# accepted only from the environment: a file in config/ is easier to leak than the environment
SECRETS = {"secret_key", "smtp_password", "initial_access_token", "metrics_token"}


def load(
    tmp_path: Path,
    files: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Settings:
    """Settings from ``files`` (name -> TOML text), ``env`` and ``overrides`` alone."""
    config_dir = tmp_path / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    for name, text in (files or {}).items():
        (config_dir / name).write_text(text, encoding="utf-8")
    environ = {"IDP_INSTANCE_PATH": str(tmp_path / "instance"), **(env or {})}
    return load_settings(overrides, environ=environ, config_dir=config_dir)


def refused(tmp_path: Path, **sources: Any) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, **sources)
    return str(info.value)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


# -- precedence ----------------------------------------------------------------------------


def test_defaults_apply_when_nothing_is_set(tmp_path):
    s = load(tmp_path)
    assert s.login_max_failures == 5
    assert s.backchannel_timeout == 5.0
    assert s.languages == ["fi", "sv", "en"]
    assert s.outbound_allow_hosts == []
    assert s.smtp_starttls is False
    assert s.issuer == "http://localhost:5000"


def test_each_source_overrides_the_one_before(tmp_path):
    files = {
        "avain.toml": "[avain]\n"
        "login_max_failures = 7\ncode_lifetime = 90\naccess_token_lifetime = 700\n"
    }
    env = {"IDP_CODE_LIFETIME": "120", "IDP_ACCESS_TOKEN_LIFETIME": "800"}
    s = load(tmp_path, files, env, overrides={"access_token_lifetime": 900})
    assert s.id_token_lifetime == 600  # default
    assert s.login_max_failures == 7  # file over default
    assert s.code_lifetime == 120  # environment over file
    assert s.access_token_lifetime == 900  # overrides over environment


def test_config_files_are_read_in_name_order(tmp_path):
    files = {
        "10-site.toml": "[avain]\nlogin_max_failures = 7\ncode_lifetime = 90\n",
        "20-host.toml": "[avain]\nlogin_max_failures = 3\n",
        "notes.txt": "[avain]\nlogin_max_failures = 1\n",
    }
    s = load(tmp_path, files)
    assert (s.login_max_failures, s.code_lifetime) == (3, 90)


def test_a_toml_file_without_an_avain_table_is_left_alone(tmp_path):
    s = load(tmp_path, {"purposes.toml": '[purposes.newsletter]\ntitle = "x"\n'})
    assert s.login_max_failures == 5


def test_create_app_overrides_the_environment(app_config, monkeypatch, tmp_path):
    monkeypatch.setenv("IDP_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("IDP_LOGIN_MAX_FAILURES", "9")
    monkeypatch.setenv("IDP_CODE_LIFETIME", "45")
    app = create_app({**app_config, "login_max_failures": 4})
    try:
        s = app.config["AVAIN"]
        assert isinstance(s, Settings)
        assert (s.login_max_failures, s.code_lifetime) == (4, 45)
    finally:
        app.extensions["avain.engine"].dispose()


# -- conversion ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", True), ("true", True), ("Yes", True), (" on ", True)]
    + [("0", False), ("false", False), ("no", False), ("OFF", False), ("", False)],
)
def test_booleans_from_the_environment(tmp_path, text, value):
    assert load(tmp_path, env={"IDP_TRUST_PROXY": text}).trust_proxy is value


def test_numbers_from_the_environment(tmp_path):
    s = load(tmp_path, env={"IDP_SMTP_PORT": "587", "IDP_BACKCHANNEL_TIMEOUT": "2.5"})
    assert s.smtp_port == 587 and type(s.smtp_port) is int
    assert s.backchannel_timeout == 2.5


def test_lists_from_the_environment_are_comma_separated(tmp_path):
    env = {
        "IDP_OUTBOUND_ALLOW_HOSTS": " localhost:5001, [::1]:5002,,10.0.0.7 ",
        "IDP_LANGUAGES": "fi,en",
        "IDP_DEFAULT_LANGUAGE": "fi",
    }
    s = load(tmp_path, env=env)
    assert s.outbound_allow_hosts == ["localhost:5001", "[::1]:5002", "10.0.0.7"]
    assert s.languages == ["fi", "en"]


def test_an_empty_list_from_the_environment_clears_the_file(tmp_path):
    files = {"avain.toml": '[avain]\noutbound_allow_hosts = ["localhost"]\n'}
    assert load(tmp_path, files).outbound_allow_hosts == ["localhost"]
    assert load(tmp_path, files, env={"IDP_OUTBOUND_ALLOW_HOSTS": ""}).outbound_allow_hosts == []


def test_lists_and_native_types_from_files(tmp_path):
    files = {
        "avain.toml": "[avain]\n"
        'webauthn_origins = ["http://localhost:5000", "http://localhost:8080"]\n'
        "smtp_starttls = true\nbackchannel_timeout = 3\n"
    }
    s = load(tmp_path, files)
    assert s.webauthn_origins == ["http://localhost:5000", "http://localhost:8080"]
    assert s.smtp_starttls is True
    assert s.backchannel_timeout == 3.0 and type(s.backchannel_timeout) is float


def test_derived_values(tmp_path):
    s = load(tmp_path, env={"IDP_ISSUER": "http://localhost:8000/"})
    instance = (tmp_path / "instance").resolve()
    assert s.issuer == "http://localhost:8000"
    assert s.webauthn_rp_id == "localhost"
    assert s.webauthn_origins == ["http://localhost:8000"]
    assert s.instance_path == str(instance)
    assert s.database_url == f"sqlite:///{instance / 'avain.db'}"
    assert not s.issuer_is_https


def test_a_development_secret_is_made_once_and_kept_private(tmp_path):
    first = load(tmp_path).secret_key
    path = tmp_path / "instance" / "secret_key"
    assert len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load(tmp_path).secret_key == first


# -- validation messages -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        (
            {"env": {"IDP_LOGIN_MAX_FAILURES": "many"}},
            "IDP_LOGIN_MAX_FAILURES: login_max_failures must be a int, got 'many'",
        ),
        (
            {"env": {"IDP_BACKCHANNEL_TIMEOUT": "5s"}},
            "IDP_BACKCHANNEL_TIMEOUT: backchannel_timeout must be a float, got '5s'",
        ),
        (
            {"env": {"IDP_SMTP_STARTTLS": "maybe"}},
            "IDP_SMTP_STARTTLS: smtp_starttls must be a bool, got 'maybe'",
        ),
        (
            {"files": {"avain.toml": '[avain]\nsmtp_port = "twenty-five"\n'}},
            "avain.toml: smtp_port must be a int, got 'twenty-five'",
        ),
        (
            {"overrides": {"code_lifetime": "a minute"}},
            "test config: code_lifetime must be a int, got 'a minute'",
        ),
        (
            {"env": {"IDP_ISSUER": "login.example.com"}},
            "IDP_ISSUER must be an absolute http(s) URL without query or fragment, "
            "e.g. https://login.example.com (got 'login.example.com')",
        ),
        (
            {"env": {"IDP_ISSUER": "https://login.example.com/?x=1"}},
            "IDP_ISSUER must be an absolute http(s) URL",
        ),
        (
            {"env": {"IDP_ISSUER": "http://login.example.com"}},
            "IDP_ISSUER must use https unless it is localhost",
        ),
        (
            {"env": {"IDP_WEBAUTHN_RP_ID": "example.com"}},
            "webauthn_rp_id 'example.com' must be the issuer's host or a parent domain of it "
            "('localhost')",
        ),
        (
            {"env": {"IDP_DATABASE_URL": "mysql://db/avain"}},
            "IDP_DATABASE_URL must be a sqlite:// or postgresql:// URL",
        ),
        (
            {"env": {"IDP_REDIS_URL": "http://cache:6379"}},
            "IDP_REDIS_URL must start with redis:// or rediss://",
        ),
        (
            {"env": {"IDP_ISSUER": "https://login.example.com"}},
            "IDP_SECRET_KEY is required when the issuer is https; generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`",
        ),
        (
            {"env": {"IDP_SECRET_KEY": "too-short"}},
            "IDP_SECRET_KEY must be at least 32 characters",
        ),
        (
            {"env": {"IDP_LANGUAGES": "fi,de"}},
            "languages: 'de' has no translation (use fi, sv, en)",
        ),
        (
            {"env": {"IDP_DEFAULT_LANGUAGE": "sv", "IDP_LANGUAGES": "fi,en"}},
            "default_language must be one of languages",
        ),
        (
            {"env": {"IDP_KEY_PUBLISH_DELAY": "-1"}},
            "key_publish_delay must not be negative",
        ),
        (
            {"env": {"IDP_OUTBOUND_ALLOW_HOSTS": "localhost:5001,http://partner.test"}},
            "outbound_allow_hosts: 'http://partner.test' is not host or host:port "
            "(e.g. localhost:5001 or [::1]:5001)",
        ),
        (
            {
                "env": {
                    "IDP_OUTBOUND_ALLOW_HTTP": "true",
                    "IDP_ISSUER": "https://login.example.com",
                    "IDP_SECRET_KEY": SECRET,
                }
            },
            "outbound_allow_http is for development with an http://localhost issuer; "
            "give the back-channel receivers https URIs instead",
        ),
    ],
)
def test_a_bad_value_stops_the_start_with_what_to_fix(tmp_path, sources, message):
    assert message in refused(tmp_path, **sources)


@pytest.mark.parametrize(
    "name",
    [
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
    ],
)
def test_counts_and_lifetimes_must_be_positive(tmp_path, name):
    assert refused(tmp_path, env={f"IDP_{name.upper()}": "0"}) == f"{name} must be positive"


def test_a_short_secret_is_not_repeated_in_the_message(tmp_path):
    assert "hunter2" not in refused(tmp_path, env={"IDP_SECRET_KEY": "hunter2"})


def test_broken_files_name_the_file(tmp_path):
    message = refused(tmp_path, files={"avain.toml": "[avain\n"})
    assert "avain.toml: not valid TOML" in message
    message = refused(tmp_path, files={"avain.toml": "avain = 3\n"})
    assert message.endswith("avain.toml: [avain] must be a table")


# -- unknown settings ----------------------------------------------------------------------


def test_an_unknown_key_in_a_file_is_refused(tmp_path):
    message = refused(tmp_path, files={"site.toml": "[avain]\nlogin_max_failure = 3\n"})
    assert f"{tmp_path / 'config' / 'site.toml'}: unknown key avain.login_max_failure" in message


def test_an_unknown_override_is_refused(tmp_path):
    message = refused(tmp_path, overrides={"login_max_failure": 3})
    assert message.startswith("unknown setting login_max_failure")


def test_an_unknown_key_names_the_setting_meant(tmp_path):
    message = refused(tmp_path / "a", files={"site.toml": "[avain]\nlogin_max_failure = 3\n"})
    assert message.endswith("; did you mean avain.login_max_failures?")
    message = refused(tmp_path / "b", overrides={"backchannel_timout": 3})
    assert message.endswith("; did you mean backchannel_timeout?")
    message = refused(tmp_path / "c", overrides={"colour": "blue"})
    assert message.endswith("; the settings are the fields of Settings in idp/config.py")


# -- secrets -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_a_secret_in_a_file_is_refused(tmp_path, name):
    value = "x" * 40 + "-do-not-show"
    message = refused(tmp_path, files={"avain.toml": f'[avain]\n{name} = "{value}"\n'})
    assert message.endswith(
        f"avain.toml: {name} is a secret; set IDP_{name.upper()} in the environment instead"
    )
    assert value not in message


def test_secrets_come_from_the_environment(tmp_path):
    env = {"IDP_SECRET_KEY": SECRET, "IDP_SMTP_PASSWORD": "pw", "IDP_INITIAL_ACCESS_TOKEN": "iat"}
    s = load(tmp_path, env=env)
    assert (s.secret_key, s.smtp_password, s.initial_access_token) == (SECRET, "pw", "iat")


def test_only_the_secrets_are_refused_in_files(tmp_path):
    """Every other option, the database and Redis URLs included, may be set in a file."""
    for option in OPTIONS:
        text = f"[avain]\n{option.name} = {toml_value(option.default)}\n"
        if option.name in SECRETS:
            assert "is a secret" in refused(tmp_path, files={"avain.toml": text})
        else:
            load(tmp_path, files={"avain.toml": text})


def test_database_and_redis_urls_may_be_set_in_a_file(tmp_path):
    files = {
        "avain.toml": "[avain]\n"
        'database_url = "postgresql+psycopg://avain@db/avain"\n'
        'redis_url = "redis://cache:6379/0"\n'
    }
    s = load(tmp_path, files)
    assert s.database_url == "postgresql+psycopg://avain@db/avain"
    assert s.redis_url == "redis://cache:6379/0"


# -- declarations: typed, documented, read-only --------------------------------------------


def test_settings_are_typed_fields_not_a_lookup():
    """A misspelt setting is an AttributeError at run time and an error to mypy."""
    assert "__getattr__" not in vars(Settings)
    hints = get_type_hints(Settings)
    names = [f.name for f in dataclasses.fields(Settings)]
    assert names == [o.name for o in OPTIONS]
    assert all(hints[name] is not Any for name in names)


def test_loaded_values_have_their_declared_types(tmp_path):
    s = load(tmp_path)
    for name, declared in get_type_hints(Settings).items():
        value = getattr(s, name)
        if declared == list[str]:
            assert isinstance(value, list) and all(isinstance(v, str) for v in value), name
        else:
            assert type(value) is declared, name


def test_settings_cannot_be_changed_after_loading(tmp_path):
    s = load(tmp_path)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.login_max_failures = 1000  # type: ignore[misc]
    with pytest.raises(AttributeError):
        s.login_max_failure  # type: ignore[attr-defined]  # noqa: B018


def test_every_option_is_documented():
    for option in OPTIONS:
        assert option.doc.strip(), option.name
    assert {o.name for o in OPTIONS if o.secret} == SECRETS


def test_values_lists_every_setting(tmp_path):
    s = load(tmp_path)
    assert s.values == {o.name: getattr(s, o.name) for o in OPTIONS}


def test_mypy_sees_the_type_of_each_setting(tmp_path):
    """``settings().login_max_failures`` is an int to mypy and a misspelling is an error."""
    pytest.importorskip("mypy")
    snippet = tmp_path / "snippet.py"
    snippet.write_text(
        "from idp.config import load_settings\n"
        "s = load_settings()\n"
        "reveal_type(s.login_max_failures)\n"
        "reveal_type(s.outbound_allow_hosts)\n"
        "s.login_max_failure\n",
        encoding="utf-8",
    )
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--follow-imports=skip"]
        + ["--cache-dir", str(tmp_path / "cache"), "idp/config.py", str(snippet)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "MYPYPATH": ""},
        timeout=120,
    )
    out = run.stdout.replace("builtins.", "")
    assert 'snippet.py:3: note: Revealed type is "int"' in out, out
    assert 'snippet.py:4: note: Revealed type is "list[str]"' in out, out
    assert 'snippet.py:5: error: "Settings" has no attribute "login_max_failure"' in out, out

"""Back-channel deliveries cannot be turned against Avain's own network (server-side request
forgery): each call checks the URI, resolves the host once, refuses special addresses and
connects to the address it checked. DNS answers come from a resolver the test controls."""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import certifi
import pytest
import urllib3.util.connection
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select, update

from idp.config import ConfigError, load_settings
from idp.db import new_session
from idp.events.outbox import deliver_due
from idp.models import Client, Delivery
from tests.conftest import authorize_params, exchange, follow_to_code

PUBLIC = "93.184.216.34"
SPECIAL_ADDRESSES = [
    "127.0.0.1",
    "127.8.9.10",
    "10.0.0.5",
    "172.16.0.1",
    "192.168.1.10",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",  # noqa: S104 - an address to refuse, not one to bind
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.0.8",
    "198.18.0.1",
    "::1",
    "::",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::127.0.0.1",
    "64:ff9b::a9fe:a9fe",
    "2002:7f00:1::",
    "fe80::1",
    "fec0::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "2001:db8::1",
]


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    """Avain's defaults: no allow-listed hosts, no http for the URIs it calls."""
    return {k: v for k, v in app_config.items() if not k.startswith("outbound_")}


class FakeDNS:
    """Answers for the names it knows, one answer per lookup (the last one repeats);
    ``None`` as an answer is a failed lookup. Other names go to the real resolver."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.answers: dict[str, list[list[str] | None]] = {}
        self.lookups: list[str] = []
        real = socket.getaddrinfo

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            name = host.decode() if isinstance(host, bytes) else host
            if name not in self.answers:
                return real(host, port, *args, **kwargs)
            self.lookups.append(name)
            queue = self.answers[name]
            answer = queue.pop(0) if len(queue) > 1 else queue[0]
            if answer is None:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return [
                (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, int(port or 0), 0, 0))
                if ":" in a
                else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, int(port or 0)))
                for a in answer
            ]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    return FakeDNS(monkeypatch)


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every host an HTTP connection is opened to; none is actually opened."""
    opened: list[str] = []

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(address[0])
        raise ConnectionRefusedError(111, "refused by the test")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)
    return opened


class Receiver:
    """An HTTP server on 127.0.0.1 that records each POST's Host header and path."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self.server_names: list[str | None] = []  # TLS server names asked for (tls_receiver)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.seen.append((self.headers.get("Host", ""), self.path))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def _certificate(
    name: str, key: Any, issuer: x509.Name | None = None, issuer_key: Any = None
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer or subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
    )
    if issuer is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
    else:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), False)
    return builder.sign(issuer_key or key, hashes.SHA256())


@pytest.fixture
def tls_receiver(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    """A receiver on 127.0.0.1 with a certificate for partner.test from a test CA that
    Avain is made to trust; it records the TLS server name each client asked for."""
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("Avain test CA", ca_key)
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(pem))
    (tmp_path / "partner.pem").write_bytes(
        _certificate("partner.test", key, ca.subject, ca_key).public_bytes(pem)
        + key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    monkeypatch.setattr(certifi, "where", lambda: str(tmp_path / "ca.pem"))
    r = Receiver()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "partner.pem")

    def remember(_socket: Any, server_name: str | None, _context: Any) -> None:
        r.server_names.append(server_name)

    context.sni_callback = remember
    r.server.socket = context.wrap_socket(r.server.socket, server_side=True)
    yield r
    r.server.shutdown()


def _queue(app: Any, *urls: str) -> None:
    with new_session(app) as session:
        for url in urls:
            session.add(
                Delivery(kind="backchannel_logout", client_id="rp", url=url, payload="token")
            )
        session.commit()


def _deliveries(app: Any) -> list[Delivery]:
    with new_session(app) as session:
        rows = list(session.scalars(select(Delivery).order_by(Delivery.id)))
        session.expunge_all()
        return rows


def _deliver(app: Any, **kwargs: Any) -> int:
    return deliver_due(app.extensions["avain.sessionmaker"], 0.5, 8, **kwargs)


def _refused(delivery: Delivery) -> bool:
    entry = delivery.attempt_log[-1]
    return delivery.failed_at is not None and entry.get("error") == "refused"


# -- after DNS resolution -------------------------------------------------------------------


@pytest.mark.parametrize("address", SPECIAL_ADDRESSES)
def test_a_name_that_resolves_to_a_special_address_is_refused(app, dns, connections, address):
    dns.answers["rp.example.com"] = [[address]]
    _queue(app, "https://rp.example.com/backchannel")
    assert _deliver(app) == 1
    (delivery,) = _deliveries(app)
    assert connections == []
    assert _refused(delivery), delivery.attempt_log
    assert delivery.attempts == 1 and delivery.delivered_at is None
    assert "rp.example.com resolves to" in delivery.attempt_log[0]["reason"]


def test_one_special_address_among_public_ones_refuses_the_name(app, dns, connections):
    dns.answers["rp.example.com"] = [[PUBLIC, "10.0.0.5"]]
    _queue(app, "https://rp.example.com/backchannel")
    _deliver(app)
    (delivery,) = _deliveries(app)
    assert connections == [] and _refused(delivery)
    assert "10.0.0.5" in delivery.attempt_log[0]["reason"]


def test_the_connection_goes_to_the_address_that_was_checked(app, dns, connections):
    """DNS rebinding: the first answer is public, every later one points inside."""
    dns.answers["rp.example.com"] = [[PUBLIC], ["127.0.0.1"]]
    _queue(app, "https://rp.example.com:8443/backchannel")
    _deliver(app)
    assert connections == [PUBLIC]
    assert dns.lookups == ["rp.example.com"]
    (delivery,) = _deliveries(app)
    assert delivery.failed_at is None and delivery.delivered_at is None  # retried later
    assert delivery.attempt_log[0]["error"] == "NewConnectionError"


def test_a_failed_lookup_is_retried_not_refused(app, dns, connections):
    dns.answers["rp.example.com"] = [None]
    _queue(app, "https://rp.example.com/backchannel")
    _deliver(app)
    (delivery,) = _deliveries(app)
    assert delivery.failed_at is None and delivery.attempts == 1
    assert delivery.attempt_log[0]["error"] == "gaierror"


# -- URIs stored before registration checked them -------------------------------------------

STORED_URIS = [
    "https://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "https://10.0.0.1/backchannel",
    "https://[::1]/backchannel",
    "https://2130706433/backchannel",
    "https://localhost/backchannel",
    "http://rp.example.com/backchannel",
    "ftp://rp.example.com/backchannel",
    "not a uri",
]


@pytest.mark.parametrize("url", STORED_URIS)
def test_a_stored_uri_that_registration_now_refuses_is_refused_at_delivery(
    app, dns, connections, url
):
    dns.answers["rp.example.com"] = [[PUBLIC]]
    _queue(app, url)
    assert _deliver(app) == 1
    (delivery,) = _deliveries(app)
    assert connections == []
    assert _refused(delivery), delivery.attempt_log


def test_a_refused_delivery_does_not_stop_the_others(app, dns, connections):
    dns.answers["rp.example.com"] = [[PUBLIC]]
    _queue(app, "https://10.0.0.1/backchannel", "https://rp.example.com/backchannel")
    assert _deliver(app) == 2
    refused, tried = _deliveries(app)
    assert _refused(refused)
    assert tried.attempt_log[0]["error"] == "NewConnectionError" and connections == [PUBLIC]


def test_logout_does_not_post_to_a_loopback_receiver(app, client, make_user, make_client, receiver):
    """The attack as reported: a back-channel URI on 127.0.0.1, then a logout."""
    user = make_user()
    rp, secret = make_client(
        first_party=True, backchannel_logout_uri="https://rp.example.com/backchannel"
    )
    url = f"http://127.0.0.1:{receiver.port}/backchannel"
    with new_session(app) as session:
        session.execute(
            update(Client)
            .where(Client.client_id == rp.client_id)
            .values(backchannel_logout_uri=url)
        )
        session.commit()
    params, verifier = authorize_params(rp)
    code = follow_to_code(client, params, user.email)["code"]
    token = exchange(client, rp, secret, code, verifier).json
    client.get("/logout", query_string={"id_token_hint": token["id_token"]})
    for thread in app.extensions.get("avain.outbox_threads", []):
        thread.join(timeout=10)
    assert receiver.seen == []
    (delivery,) = _deliveries(app)
    assert _refused(delivery), delivery.attempt_log


# -- the operator's allow-list --------------------------------------------------------------


class TestAllowList:
    @pytest.fixture
    def app_config(self, app_config: dict[str, Any]) -> dict[str, Any]:
        return {
            **app_config,
            "outbound_allow_hosts": ["partner.test", "127.0.0.1:1"],
            "outbound_allow_http": True,
        }

    def test_a_listed_host_is_called_once_resolved_with_its_own_host_header(
        self, app, dns, receiver
    ):
        from idp.outbound import policy_from

        dns.answers["partner.test"] = [["127.0.0.1"], None]
        _queue(app, f"http://partner.test:{receiver.port}/backchannel?x=1")
        _deliver(app, outbound=policy_from(app.config["AVAIN"]))
        (delivery,) = _deliveries(app)
        assert delivery.delivered_at is not None, delivery.attempt_log
        assert receiver.seen == [(f"partner.test:{receiver.port}", "/backchannel?x=1")]
        assert dns.lookups == ["partner.test"]

    @pytest.mark.parametrize(("name", "delivered"), [("partner.test", True), ("other.test", False)])
    def test_tls_checks_the_uri_host_while_connecting_to_the_checked_address(
        self, app, dns, tls_receiver, name, delivered
    ):
        from idp.outbound import AllowEntry, OutboundPolicy

        dns.answers[name] = [["127.0.0.1"], None]
        policy = OutboundPolicy(allow_hosts=(AllowEntry(name, None),))
        _queue(app, f"https://{name}:{tls_receiver.port}/backchannel")
        _deliver(app, outbound=policy)
        (delivery,) = _deliveries(app)
        assert tls_receiver.server_names == [name] and dns.lookups == [name]
        if delivered:
            assert delivery.delivered_at is not None, delivery.attempt_log
            assert tls_receiver.seen == [(f"{name}:{tls_receiver.port}", "/backchannel")]
        else:  # the certificate names partner.test, not the host in the URI
            assert delivery.delivered_at is None and tls_receiver.seen == []
            assert delivery.attempt_log[0]["error"] == "SSLError"

    def test_a_listed_port_does_not_open_the_others(self, app, receiver):
        from idp.outbound import policy_from

        _queue(app, f"http://127.0.0.1:{receiver.port}/backchannel")
        _deliver(app, outbound=policy_from(app.config["AVAIN"]))
        (delivery,) = _deliveries(app)
        assert receiver.seen == [] and _refused(delivery)

    def test_without_the_policy_the_defaults_apply(self, app, dns, receiver):
        dns.answers["partner.test"] = [["127.0.0.1"]]
        _queue(app, f"http://partner.test:{receiver.port}/backchannel")
        _deliver(app)
        (delivery,) = _deliveries(app)
        assert receiver.seen == [] and _refused(delivery)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"outbound_allow_hosts": ["http://localhost:5001"]}, "host:port"),
        ({"outbound_allow_hosts": ["localhost:http"]}, "host:port"),
        ({"outbound_allow_hosts": ["localhost:70000"]}, "host:port"),
        ({"outbound_allow_hosts": ["[::1"]}, "host:port"),
        (
            {"outbound_allow_http": True, "issuer": "https://login.example.com"},
            "outbound_allow_http is for development",
        ),
    ],
)
def test_bad_outbound_settings_say_what_to_fix(tmp_path, overrides, message):
    base = {"secret_key": "s" * 40, "instance_path": str(tmp_path)}
    with pytest.raises(ConfigError, match=message):
        load_settings({**base, **overrides}, environ={}, config_dir=tmp_path)


# -- the demo partners on localhost ---------------------------------------------------------


def _seed(app: Any) -> tuple[list[str], dict[str, str | None]]:
    from idp.demo import seed_demo

    with new_session(app) as session:
        lines = seed_demo(session, app.config["AVAIN"])
        session.commit()
        uris = {
            cid: session.get(Client, cid).backchannel_logout_uri for cid in ("tire-shop", "garage")
        }
    return lines, uris


def test_the_demo_partners_get_no_loopback_backchannel_by_default(app):
    lines, uris = _seed(app)
    assert uris == {"tire-shop": None, "garage": None}
    assert any("IDP_OUTBOUND_ALLOW_HOSTS" in line for line in lines)


class TestDemoAllowList:
    @pytest.fixture
    def app_config(self, app_config: dict[str, Any]) -> dict[str, Any]:
        return {
            **app_config,
            "outbound_allow_hosts": ["localhost:5001", "localhost:5002"],
            "outbound_allow_http": True,
        }

    def test_the_demo_partners_receive_backchannel_logouts_when_allowed(self, app):
        lines, uris = _seed(app)
        assert uris == {
            "tire-shop": "http://localhost:5001/backchannel-logout",
            "garage": "http://localhost:5002/backchannel-logout",
        }
        assert not any("IDP_OUTBOUND_ALLOW_HOSTS" in line for line in lines)

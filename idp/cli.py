"""The ``idp`` command for operators: database, serving, keys, clients, users, admins, the
audit log, demo seed.

Each command imports what it uses inside its function, so that ``idp --help`` and
``idp db upgrade`` start without loading the app's blueprints and their libraries. These
imports are lazy, not a way round a cycle: nothing in ``idp`` imports this module.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy.orm import Session

from idp.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from idp.startup import Prepared


def _app() -> Any:
    from idp import create_app

    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from None


class _Ctx:
    def __init__(self) -> None:
        self.app = _app()
        self.settings: Settings = self.app.config["AVAIN"]
        self.ctx = self.app.app_context()
        self.ctx.push()
        from idp.db import new_session

        self.session: Session = new_session(self.app)

    def close(self) -> None:
        self.session.close()
        self.ctx.pop()
        self.app.extensions["avain.engine"].dispose()


def _with_session(fn: Any) -> Any:
    def run(*args: Any, **kwargs: Any) -> Any:
        c = _Ctx()
        try:
            return fn(c, *args, **kwargs)
        finally:
            c.close()

    run.__name__ = fn.__name__
    run.__doc__ = fn.__doc__
    return run


@click.group()
def main() -> None:
    """Avain identity provider: operator commands."""


# -- database -------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations (creates the SQLite file on first use), then prepare the database as
    start-up does: purpose versions, signing keys, the consent log's first checkpoint."""
    from idp import migrate

    try:
        settings = load_settings()
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from None
    if settings.database_url.startswith("sqlite:///"):
        os.makedirs(
            os.path.dirname(settings.database_url[len("sqlite:///") :]) or ".", exist_ok=True
        )
    migrate.upgrade(settings.database_url, revision)
    click.echo(f"database at revision {migrate.current(settings.database_url)}")
    _report_start_up()


@_with_session
def _report_start_up(c: _Ctx) -> None:
    for key in _prepared(c).created_keys:
        click.echo(f"created signing key {key}")


def _prepared(c: _Ctx) -> Prepared:
    """What the app's start-up made (:mod:`idp.startup`); its error if it could not."""
    from sqlalchemy.exc import DBAPIError

    from idp import startup

    done = startup.prepared(c.app)
    if done is not None:
        return done
    try:
        return startup.prepare(c.app)
    except DBAPIError as exc:
        raise click.ClickException(
            f"the database is not ready ({type(exc.orig or exc).__name__}); "
            "run `idp db upgrade` first"
        ) from None


@db.command("current")
def db_current() -> None:
    """Show the database's migration revision."""
    from idp import migrate

    click.echo(migrate.current(load_settings().database_url) or "(empty database)")


# -- serving --------------------------------------------------------------------------


def _bind(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[str, int]:
    from idp import serving

    try:
        return serving.split_bind(value)
    except serving.ServeError as exc:
        raise click.BadParameter(str(exc)) from None


@main.command()
@click.option(
    "--bind",
    default="127.0.0.1:5000",
    show_default=True,
    callback=_bind,
    help="host:port to listen on ([::1]:5000 for IPv6, :5000 for every address).",
)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--threads",
    default=4,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Threads per worker running the app (Granian's blocking threads).",
)
@click.option(
    "--access-log/--no-access-log",
    default=True,
    show_default=True,
    help="One line per request on stdout; off when a proxy in front logs them.",
)
def serve(bind: tuple[str, int], workers: int, threads: int, access_log: bool) -> None:
    """Serve Avain under Granian (migrate first with `idp db upgrade`)."""
    from idp import serving

    serving.exec_with_malloc_tuned()  # Argon2id's memory given back (idp/serving.py)
    try:
        settings = load_settings()
        with serving.metrics_directory(bool(settings.metrics_token)):
            _app()  # validate configuration before forking workers, metrics directory set
            serving.run(bind, workers, threads=threads, access_log=access_log)
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from None
    except serving.ServeError as exc:
        raise click.ClickException(str(exc)) from None


# -- keys -----------------------------------------------------------------------------


@main.group()
def keys() -> None:
    """Token-signing keys."""


@keys.command("list")
@_with_session
def keys_list(c: _Ctx) -> None:
    """List published keys and their state (next, signing, retiring)."""
    from idp.signing import keys as k

    for info in k.list_keys(c.session):
        retire = info.retire_after.isoformat() if info.retire_after else "-"
        click.echo(
            f"{info.kid}\t{info.alg}\t{info.state}\tactive_from="
            f"{info.active_from.isoformat()}\tretire_after={retire}"
        )


@keys.command("rotate")
@click.option(
    "--now",
    "immediately",
    is_flag=True,
    help="Start signing with the new keys at once (skip the publish delay).",
)
@click.option("--alg", "algs", multiple=True, type=click.Choice(["RS256", "ES256"]))
@_with_session
def keys_rotate(c: _Ctx, immediately: bool, algs: tuple[str, ...]) -> None:
    """Publish new keys; they sign after key_publish_delay, old ones retire when unused."""
    from idp import context
    from idp.signing import keys as k

    s = c.settings
    created = k.rotate(
        c.session,
        s.secret_key,
        0 if immediately else s.key_publish_delay,
        context.max_token_lifetime(),
        algs or k.ALGORITHMS,
    )
    c.session.commit()
    for key in created:
        click.echo(f"published {key.kid} ({key.alg}), signs from {key.active_from.isoformat()}")


# -- clients --------------------------------------------------------------------------


@main.group()
def clients() -> None:
    """OAuth clients (relying parties)."""


@clients.command("create")
@click.option("--name", required=True)
@click.option("--redirect-uri", "redirect_uris", multiple=True)
@click.option("--public", is_flag=True, help="A public client (no secret; PKCE only).")
@click.option(
    "--grant-type",
    "grant_types",
    multiple=True,
    type=click.Choice(
        [
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ]
    ),
)
@click.option("--post-logout-redirect-uri", "post_logout", multiple=True)
@click.option("--backchannel-logout-uri")
@click.option("--subject-type", type=click.Choice(["public", "pairwise"]), default="public")
@click.option(
    "--auth-method",
    type=click.Choice(["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]),
)
@click.option("--jwks-file", type=click.File("r"), help="Public keys for private_key_jwt.")
@click.option("--first-party", is_flag=True, help="Skip the consent screen (own services).")
@click.option("--client-id", help="Choose the client id (default: random).")
@click.option("--json", "as_json", is_flag=True, help="Print id and secret as JSON.")
@_with_session
def clients_create(
    c: _Ctx,
    name: str,
    redirect_uris: tuple[str, ...],
    public: bool,
    grant_types: tuple[str, ...],
    post_logout: tuple[str, ...],
    backchannel_logout_uri: str | None,
    subject_type: str,
    auth_method: str | None,
    jwks_file: Any,
    first_party: bool,
    client_id: str | None,
    as_json: bool,
) -> None:
    """Register a client; the secret is shown once."""
    from idp.oauth.clients import ClientError, ClientSpec, create
    from idp.outbound import policy_from

    jwks = None
    if jwks_file is not None:
        try:
            jwks = json.load(jwks_file)
        except ValueError:
            raise click.ClickException("--jwks-file is not valid JSON") from None
    spec = ClientSpec(
        name=name,
        redirect_uris=list(redirect_uris),
        public=public,
        grant_types=list(grant_types) or ["authorization_code", "refresh_token"],
        token_endpoint_auth_method=auth_method,
        post_logout_redirect_uris=list(post_logout),
        backchannel_logout_uri=backchannel_logout_uri,
        subject_type=subject_type,
        jwks=jwks,
        first_party=first_party,
        client_id=client_id,
    )
    try:
        client, secret = create(c.session, spec, policy_from(c.settings))
    except ClientError as exc:
        raise click.ClickException(f"{exc.error}: {exc.description}") from None
    c.session.commit()
    if as_json:
        click.echo(json.dumps({"client_id": client.client_id, "client_secret": secret}))
        return
    click.echo(f"client_id:     {client.client_id}")
    if secret:
        click.echo(f"client_secret: {secret}   (shown once; store it now)")


@clients.command("list")
@click.option("--json", "as_json", is_flag=True)
@_with_session
def clients_list(c: _Ctx, as_json: bool) -> None:
    """List clients."""
    from idp.oauth.clients import all_clients, describe

    items = all_clients(c.session)
    if as_json:
        click.echo(json.dumps([describe(x) for x in items], indent=2))
        return
    for x in items:
        click.echo(
            f"{x.client_id}\t{x.client_name}\t{x.token_endpoint_auth_method}\t"
            f"{' '.join(x.redirect_uris)}"
        )


@clients.command("show")
@click.argument("client_id")
@_with_session
def clients_show(c: _Ctx, client_id: str) -> None:
    """Show a client's registered metadata."""
    from idp.models import Client
    from idp.oauth.clients import describe

    client = c.session.get(Client, client_id)
    if client is None:
        raise click.ClickException(f"no client {client_id}")
    click.echo(json.dumps(describe(client), indent=2))


@clients.command("delete")
@click.argument("client_id")
@click.option("--yes", is_flag=True, help="Do not ask.")
@_with_session
def clients_delete(c: _Ctx, client_id: str, yes: bool) -> None:
    """Delete a client and every token and code issued to it."""
    from idp.models import Client

    client = c.session.get(Client, client_id)
    if client is None:
        raise click.ClickException(f"no client {client_id}")
    if not yes:
        click.confirm(f"Delete {client.client_name} ({client_id}) and all its tokens?", abort=True)
    c.session.delete(client)
    c.session.commit()
    click.echo(f"deleted {client_id}")


# -- users ----------------------------------------------------------------------------


@main.group()
def users() -> None:
    """Customer accounts."""


@users.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option(
    "--password-stdin",
    is_flag=True,
    required=True,
    help="Read the password from standard input (never from the command line).",
)
@click.option("--verified", is_flag=True, help="Mark the email address as confirmed.")
@_with_session
def users_create(c: _Ctx, email: str, name: str, password_stdin: bool, verified: bool) -> None:
    """Create a customer account."""
    from idp.auth import accounts
    from idp.auth.messages import message

    password = sys.stdin.readline().rstrip("\r\n")
    try:
        user = accounts.register(c.session, email, name, password)
    except accounts.AccountError as exc:
        with c.app.test_request_context():
            raise click.ClickException(message(exc.code)) from None
    user.email_verified = verified
    c.session.commit()
    click.echo(f"created {user.id} <{user.email}>")


# -- consent ledger -------------------------------------------------------------------


@main.group()
def ledger() -> None:
    """The consent ledger: verification, checkpoints, purposes."""


@ledger.command("verify")
@_with_session
def ledger_verify(c: _Ctx) -> None:
    """Recompute every entry, chain and checkpoint; name the first bad entry."""
    from consent import ledger as L
    from idp.ledger import verify_runs

    keys = c.app.extensions["avain.ledger_keys"]
    report = verify_runs.run(
        c.session,
        verify_runs.CONSENT,
        "cli",
        lambda: L.verify(c.session, keys.origin),
        lambda r: (r.entries, [(p.seq, p.what) for p in r.problems]),
    )
    c.session.commit()
    if report.ok:
        click.echo(
            f"ok: {report.entries} entries, {report.checkpoints} signed checkpoints, "
            f"{report.subtrees} stored subtree hashes"
        )
        if report.added_during:
            click.echo(f"{report.added_during} entries were added while checking (not checked)")
        if report.queued:
            click.echo(f"{report.queued} events wait to be sequenced (`idp ledger sequence`)")
        return
    for problem in report.problems:
        click.echo(f"entry {problem.seq}: {problem.what}", err=True)
    raise SystemExit(1)


@ledger.command("sequence")
def ledger_sequence() -> None:
    """Move accepted events into the log now (the workers' sequencer does it on its own)."""
    from idp.ledger import sequencer

    app = _app()
    with app.app_context():
        moved = sequencer.drain(app)
    click.echo(f"{moved} events sequenced")


@ledger.command("rights")
@click.argument("action", type=click.Choice(["object", "restrict", "lift-restriction"]))
@click.argument("email")
@click.option("--recipient", required=True, help="The client id that receives the data.")
@click.option("--purpose", required=True, help="The purpose id (see `idp ledger state`).")
@click.option("--reason", default=None, help="What the customer asked, for the record.")
@_with_session
def ledger_rights(
    c: _Ctx, action: str, email: str, recipient: str, purpose: str, reason: str | None
) -> None:
    """Record a customer's objection (Art. 21) or a restriction (Art. 18) or lift one, e.g.
    asked for by letter or phone. The event names an admin as the actor."""
    from consent.model import Actor, Channel
    from idp.account import sharing
    from idp.auth import accounts
    from idp.db import utcnow
    from idp.events.outbox import deliver_due
    from idp.ledger.consents import NotApplicable
    from idp.ledger.context import consent_context
    from idp.models import Client
    from idp.outbound import policy_from

    user = accounts.find_by_email(c.session, email)
    if user is None:
        raise click.ClickException(f"no customer with the email address {email}")
    client = c.session.get(Client, recipient)
    if client is None:
        raise click.ClickException(f"no client {recipient}")
    try:
        queued = sharing.change(
            c.session,
            consent_context(),
            c.settings.issuer,
            user,
            client,
            purpose,
            action.replace("-", "_"),
            language=None,
            session_id=None,
            now=utcnow(),
            actor=Actor.ADMIN,
            channel=Channel.ADMIN_CLI,
            reason=reason,
        )
    except (LookupError, NotApplicable) as exc:
        raise click.ClickException(str(exc)) from None
    c.session.commit()
    if queued:
        s = c.settings
        deliver_due(
            c.app.extensions["avain.sessionmaker"],
            s.backchannel_timeout,
            s.backchannel_max_attempts,
            outbound=policy_from(s),
        )
    click.echo(f"recorded: {action} for {email}, {recipient} / {purpose}")


@ledger.command("state")
@click.argument("email")
@_with_session
def ledger_state(c: _Ctx, email: str) -> None:
    """Show a customer's current consent states, objections and restrictions."""
    from consent import ledger as L
    from idp.auth import accounts

    user = accounts.find_by_email(c.session, email)
    if user is None:
        raise click.ClickException(f"no customer with the email address {email}")
    keys = c.app.extensions["avain.ledger_keys"]
    for (recipient, purpose), st in sorted(L.states(c.session, keys, user.id).items()):
        flags = [f for f, on in (("objected", st.objected), ("restricted", st.restricted)) if on]
        claims = ",".join(sorted(st.claims)) or "-"
        click.echo(
            f"{recipient}\t{purpose}\tv{st.purpose_version}\t{st.status}\t{claims}\t"
            f"{' '.join(flags) or '-'}\tsince {st.since.isoformat()}"
        )
    waiting = L.queued(c.session, keys, user.id)
    if waiting:
        click.echo(f"({waiting} events wait to be sequenced; they are counted above)")


@ledger.command("disclosures")
@click.argument("email")
@click.option("--json", "as_json", is_flag=True, help="The list the customer's export holds.")
@_with_session
def ledger_disclosures(c: _Ctx, email: str, as_json: bool) -> None:
    """Show who received a customer's claims (names, never values), newest first."""
    from idp.auth import accounts
    from idp.ledger import disclosures

    user = accounts.find_by_email(c.session, email)
    if user is None:
        raise click.ClickException(f"no customer with the email address {email}")
    found = disclosures.export(c.session, c.app.extensions["avain.ledger_keys"], user.id)
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    for d in found:
        grounds = " ".join(
            f"{g['purpose']}:{g['basis']}"
            + (f"@{g['consent_seq'] or 'queued'}" if g["basis"] == "consent" else "")
            for g in d["grounds"]
        )
        click.echo(
            f"{d['at']}\t{d['recipient']}\t{d['channel']}\t{','.join(d['claims'])}\t{grounds}"
        )
    if not found:
        click.echo("(no disclosures)")


@ledger.command("check-receipt")
@click.argument("receipt", type=click.File("r"))
@_with_session
def ledger_check_receipt(c: _Ctx, receipt: Any) -> None:
    """Check a consent receipt: signature, log entry, inclusion in the newest checkpoint."""
    from consent.receipts import verify_receipt

    check = verify_receipt(
        c.session, receipt.read().strip(), c.app.extensions["avain.ledger_keys"].origin
    )
    for note in check.notes:
        click.echo(f"note: {note}")
    if check.ok:
        click.echo(
            f"ok: entry {check.seq} is in the log, included in checkpoint {check.checkpoint_size}"
        )
        return
    for problem in check.problems:
        click.echo(f"bad: {problem}", err=True)
    raise SystemExit(1)


@ledger.command("expire")
@_with_session
def ledger_expire(c: _Ctx) -> None:
    """Record the consents whose validity has run out (run daily, e.g. from cron)."""
    from idp.events.outbox import expire_consents

    click.echo(f"{expire_consents(c.app)} consents expired")


@ledger.command("checkpoint")
@_with_session
def ledger_checkpoint(c: _Ctx) -> None:
    """Sign a checkpoint of the log as it is now and print it."""
    from consent import ledger as L

    L.checkpoint(c.session, c.app.extensions["avain.ledger_keys"])
    c.session.commit()
    row = L.latest_checkpoint(c.session)
    if row is None:
        raise click.ClickException("no checkpoint could be read back; run the command again")
    click.echo(row.note, nl=False)


@ledger.command("purposes")
@_with_session
def ledger_purposes(c: _Ctx) -> None:
    """List the catalogue's purposes with their stored versions (start-up stores new ones)."""
    _prepared(c)
    for p in c.app.extensions["avain.catalogue"].purposes.values():
        click.echo(
            f"{p.id}\tv{p.version}\t{p.basis}\t{','.join(sorted(p.recipients))}\t"
            f"{p.content_hash[:12]}"
        )


@users.command("delete")
@click.option("--email", required=True)
@click.option("--yes", is_flag=True, help="Do not ask.")
@_with_session
def users_delete(c: _Ctx, email: str, yes: bool) -> None:
    """Delete a customer: sign them out everywhere, erase their consent details, delete."""
    from idp.auth import accounts
    from idp.events.outbox import deliver_due
    from idp.outbound import policy_from

    user = accounts.find_by_email(c.session, email)
    if user is None:
        raise click.ClickException(f"no customer with the email address {email}")
    if not yes:
        click.confirm(f"Delete {user.email} ({user.id}) and erase their data?", abort=True)
    accounts.delete_account(c.session, user)
    c.session.commit()
    s = c.settings
    deliver_due(
        c.app.extensions["avain.sessionmaker"],
        s.backchannel_timeout,
        s.backchannel_max_attempts,
        outbound=policy_from(s),
    )
    click.echo(f"deleted {email}; their consent records no longer identify them")


# -- admins and their audit log --------------------------------------------------------


@main.group()
def admins() -> None:
    """Admins of the console (not customers): create, link, list, disable."""


@admins.command("create")
@click.option("--email", required=True)
@click.option(
    "--role",
    required=True,
    type=click.Choice(["support", "privacy", "partners", "auditor", "owner"]),
    help="What the admin may do (README, Admin console).",
)
@click.option("--name", default=None, help="Display name (default: the email's local part).")
@_with_session
def admins_create(c: _Ctx, email: str, role: str, name: str | None) -> None:
    """Create an admin and print their one-time enrolment link (the first owner too)."""
    from idp.admin import accounts, audit
    from idp.db import utcnow
    from idp.models import Role

    try:
        invitation = accounts.create(c.session, email, Role(role), name, utcnow())
    except accounts.AdminError as exc:
        problem = {"exists": "an admin with this email exists", "invalid_email": "not an email"}
        raise click.ClickException(f"{email}: {problem.get(exc.code, exc.code)}") from None
    audit.record(
        c.session, None, "admin_created", f"admin:{invitation.admin.email}", f"role {role}"
    )
    c.session.commit()
    click.echo(f"created {invitation.admin.email} ({role})")
    _print_link(c, invitation)


@admins.command("link")
@click.argument("email")
@click.option(
    "--replace",
    is_flag=True,
    help="A lost or stolen passkey: remove the admin's passkeys and end their sessions now.",
)
@_with_session
def admins_link(c: _Ctx, email: str, replace: bool) -> None:
    """Print a new one-time enrolment link for an admin (an expired link, another device, a
    lost passkey with --replace); their earlier unused links stop working."""
    from idp.admin import accounts, audit
    from idp.db import utcnow

    admin = accounts.find(c.session, email)
    if admin is None:
        raise click.ClickException(f"no admin with the email address {email}")
    if not admin.active:
        raise click.ClickException(f"{admin.email} is disabled")
    now = utcnow()
    removed = accounts.forget_passkeys(c.session, admin, now) if replace else 0
    invitation = accounts.invite(c.session, admin, now)
    audit.record(
        c.session,
        None,
        "enrolment_link",
        f"admin:{admin.email}",
        f"replacing {removed} passkeys" if replace else None,
    )
    c.session.commit()
    _print_link(c, invitation)


def _print_link(c: _Ctx, invitation: Any) -> None:
    link = f"{c.settings.issuer.rstrip('/')}/admin/enrol/{invitation.token}"
    click.echo(f"enrolment link (once, until {invitation.expires_at.isoformat()}):")
    click.echo(link)


@admins.command("list")
@click.option("--json", "as_json", is_flag=True)
@_with_session
def admins_list(c: _Ctx, as_json: bool) -> None:
    """List admins with their role and status."""
    from idp.admin import accounts

    found = [accounts.describe(a) for a in accounts.all_admins(c.session)]
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    for a in found:
        click.echo(
            f"{a['email']}\t{a['role']}\t{a['status']}\t{a['name']}\t"
            f"last sign-in {a['last_sign_in_at'] or '-'}"
        )


@admins.command("disable")
@click.argument("email")
@click.option("--reason", default=None, help="Why, for the audit log.")
@_with_session
def admins_disable(c: _Ctx, email: str, reason: str | None) -> None:
    """Disable an admin: their console sessions end at once, their links stop working."""
    from idp.admin import accounts, audit
    from idp.db import utcnow

    admin = accounts.find(c.session, email)
    if admin is None:
        raise click.ClickException(f"no admin with the email address {email}")
    try:
        accounts.disable(c.session, admin, utcnow())
    except accounts.AdminError as exc:
        if exc.code == "last_owner":
            raise click.ClickException(f"{admin.email} is the last active owner") from None
        raise click.ClickException(f"{admin.email} is already disabled") from None
    audit.record(c.session, None, "admin_disabled", f"admin:{admin.email}", reason)
    c.session.commit()
    click.echo(f"disabled {admin.email}")


@admins.command("role")
@click.argument("email")
@click.argument("role", type=click.Choice(["support", "privacy", "partners", "auditor", "owner"]))
@click.option("--reason", default=None, help="Why, for the audit log.")
@_with_session
def admins_role(c: _Ctx, email: str, role: str, reason: str | None) -> None:
    """Give an admin another role: their console sessions end; the last owner stays one."""
    from idp.admin import accounts, audit
    from idp.db import utcnow
    from idp.models import Role

    admin = accounts.find(c.session, email)
    if admin is None:
        raise click.ClickException(f"no admin with the email address {email}")
    try:
        before = accounts.change_role(c.session, admin, Role(role), utcnow())
    except accounts.AdminError as exc:
        raise click.ClickException(
            {
                "not_active": f"{admin.email} is disabled",
                "same_role": f"{admin.email} is {role} already",
                "last_owner": f"{admin.email} is the last active owner",
            }.get(exc.code, exc.code)
        ) from None
    audit.record(
        c.session, None, "admin_role_changed", f"admin:{admin.email}", f"{before}->{role}: {reason}"
    )
    c.session.commit()
    click.echo(f"{admin.email}: {before} -> {role}")


@admins.group("api-client")
def api_client() -> None:
    """Clients of the admin API (/admin/api/v1): create, list, disable (docs/admin-api.md)."""


@api_client.command("create")
@click.option("--name", required=True, help="What uses it, e.g. 'DPO reporting'.")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["support", "privacy", "partners", "auditor", "owner"]),
    help="The console role it acts in; its tokens carry the scope admin:<role>.",
)
@click.option(
    "--dangerous",
    is_flag=True,
    help="Let it ask for admin:dangerous (erasure, secret rotation, role changes, disabling "
    "an admin); such tokens live 5 minutes.",
)
@_with_session
def api_client_create(c: _Ctx, name: str, role: str, dangerous: bool) -> None:
    """Create an admin API client and print its client_id and secret (the secret once)."""
    from idp.admin import api_clients, audit
    from idp.db import utcnow
    from idp.models import Role

    try:
        row, secret = api_clients.create(c.session, name, Role(role), dangerous, utcnow())
    except api_clients.ApiClientError as exc:
        raise click.ClickException(f"{name!r}: {exc.code}") from None
    audit.record(
        c.session,
        None,
        "api_client_created",
        f"api_client:{row.client_id}",
        f"role {role}" + (", dangerous" if dangerous else ""),
    )
    c.session.commit()
    click.echo(
        f"created admin API client {row.name!r} ({role}{', dangerous' if dangerous else ''})"
    )
    click.echo(f"client_id:     {row.client_id}")
    click.echo(f"client_secret: {secret}")
    click.echo("The secret is shown this once; only its digest is kept.")


@api_client.command("list")
@click.option("--json", "as_json", is_flag=True)
@_with_session
def api_client_list(c: _Ctx, as_json: bool) -> None:
    """List admin API clients with their role and status (never a secret)."""
    from idp.admin import api_clients

    found = [api_clients.describe(r) for r in api_clients.all_api_clients(c.session)]
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    for r in found:
        click.echo(
            f"{r['client_id']}\t{r['role']}{' +dangerous' if r['dangerous'] else ''}\t"
            f"{r['status']}\t{r['name']}"
        )


@api_client.command("disable")
@click.argument("client_id")
@click.option("--reason", default=None, help="Why, for the audit log.")
@_with_session
def api_client_disable(c: _Ctx, client_id: str, reason: str | None) -> None:
    """Disable an admin API client: no new tokens, and the ones it holds are revoked now."""
    from idp.admin import api_clients, audit
    from idp.db import utcnow

    row = api_clients.find(c.session, client_id)
    if row is None:
        raise click.ClickException(f"no admin API client {client_id}")
    try:
        revoked = api_clients.disable(c.session, row, utcnow())
    except api_clients.ApiClientError:
        raise click.ClickException(f"{client_id} is already disabled") from None
    audit.record(c.session, None, "api_client_disabled", f"api_client:{row.client_id}", reason)
    c.session.commit()
    click.echo(f"disabled {row.client_id} ({row.name}); {revoked} live tokens revoked")


@main.group()
def audit() -> None:
    """The admins' tamper-evident audit log."""


@audit.command("verify")
@_with_session
def audit_verify(c: _Ctx) -> None:
    """Recompute every entry and signed checkpoint; name the first bad entry."""
    from idp.admin import audit as log
    from idp.ledger import verify_runs

    report = verify_runs.run(
        c.session,
        verify_runs.AUDIT,
        "cli",
        lambda: log.verify(c.session, c.app.extensions["avain.ledger_keys"]),
        lambda r: (r.entries, r.problems),
    )
    c.session.commit()
    if report.ok:
        click.echo(f"ok: {report.entries} entries, {report.checkpoints} signed checkpoints")
        return
    click.echo(f"first bad entry: {report.first_bad}", err=True)
    for seq, what in report.problems:
        click.echo(f"entry {seq}: {what}", err=True)
    raise SystemExit(1)


# -- demo -----------------------------------------------------------------------------


@main.command()
@click.option(
    "--site",
    "sites",
    multiple=True,
    metavar="CLIENT_ID=URL",
    help="Base URL of a demo partner site (default tire-shop=http://localhost:5001, "
    "garage=http://localhost:5002).",
)
@_with_session
def seed(c: _Ctx, sites: tuple[str, ...]) -> None:
    """Create the demo customer, the demo client and the partner sites' clients (idempotent),
    write the partners' secrets to instance/demo-clients.json and say how to log in."""
    from idp.demo import DEMO_SITES, seed_demo

    chosen = dict(DEMO_SITES)
    for item in sites:
        client_id, _, url = item.partition("=")
        if client_id not in DEMO_SITES or not url.startswith(("http://", "https://")):
            raise click.BadParameter(f"{item}: expected one of {sorted(DEMO_SITES)}=URL")
        chosen[client_id] = (DEMO_SITES[client_id][0], url.rstrip("/"))
    _prepared(c)  # purpose versions, keys and the first checkpoint, as start-up makes them
    for line in seed_demo(c.session, c.settings, chosen):
        click.echo(line)
    c.session.commit()


if __name__ == "__main__":  # pragma: no cover
    main()

"""Single sign-on: server-side SSO sessions (:mod:`idp.sso.sessions`), the browser's binding
to one (:mod:`idp.sso.browser`), ending sessions everywhere (:mod:`idp.sso.logout`) and the
back-channel logout fan-out (:mod:`idp.sso.backchannel`).

Below the pages and the protocol (:mod:`idp.auth`, :mod:`idp.account`, :mod:`idp.oauth`),
which call it; it imports only services below it (signing, revocation, subjects, models).
"""

from idp.sso.backchannel import enqueue_client_logout, enqueue_session_logout, logout_token
from idp.sso.browser import (
    begin_browser_login,
    client_ip,
    current_sso,
    end_browser_login,
    load_user,
    signed_in,
)
from idp.sso.logout import (
    end_expired_sessions,
    end_other_sessions,
    end_session,
    sign_out_everywhere,
)
from idp.sso.sessions import (
    ACR_PASSWORD,
    list_active,
    load_active,
    revoke,
    revoke_all,
    start_session,
)

__all__ = [
    "ACR_PASSWORD",
    "begin_browser_login",
    "client_ip",
    "current_sso",
    "end_browser_login",
    "end_other_sessions",
    "end_session",
    "enqueue_client_logout",
    "enqueue_session_logout",
    "end_expired_sessions",
    "list_active",
    "load_active",
    "load_user",
    "logout_token",
    "revoke",
    "revoke_all",
    "sign_out_everywhere",
    "signed_in",
    "start_session",
]

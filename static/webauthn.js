// WebAuthn in the browser, shared by the customers' passkeys (passkeys.js) and the admin
// console (admin.js): JSON options from the server to the browser's types, credentials
// back to JSON (base64url), a POST with the page's CSRF token (fetched afresh and retried once
// when it went stale), and errors in the page's language.
"use strict";

window.AvainWebAuthn = (function () {
  let csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  // Every text the script may show, translated by the page (templates/_script_messages.html).
  const texts = document.getElementById("avain-script-messages")?.dataset || {};

  // An error whose text is for the person as it is (the server's translated ``message``).
  const shown = (text) => Object.assign(new Error(text), { forPerson: true });

  const toBytes = (b64url) => {
    const b64 = b64url.replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(b64 + "===".slice((b64.length + 3) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0)).buffer;
  };
  const toB64url = (buffer) => {
    let bin = "";
    new Uint8Array(buffer).forEach((b) => { bin += String.fromCharCode(b); });
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };

  // The token of this page is stale once the session changed, e.g. after signing in or out
  // in another tab: fetch the current one (same origin only) and put it in the page's forms.
  async function freshToken() {
    const resp = await fetch("/csrf-token", { credentials: "same-origin", cache: "no-store" });
    const data = await resp.json();
    csrf = data.csrf_token;
    document.querySelector('meta[name="csrf-token"]')?.setAttribute("content", csrf);
    document.querySelectorAll('input[name="csrf_token"]').forEach((i) => { i.value = csrf; });
  }

  async function send(url, body) {
    try {
      return await fetch(url, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify(body || {}),
      });
    } catch (err) {
      throw shown(texts.network);
    }
  }

  async function post(url, body) {
    let resp = await send(url, body);
    let data = await resp.json().catch(() => null);
    if (resp.status === 400 && data?.error === "csrf") {  // retried once, never more
      try { await freshToken(); } catch (err) { throw shown(texts.expired); }
      resp = await send(url, body);
      data = await resp.json().catch(() => null);
    }
    // Not JSON: sent to the sign-in page, the session having ended in another tab.
    if (data === null) throw shown(resp.redirected ? texts.signedOut : texts.failed);
    if (!resp.ok) throw shown(data.message || texts.failed);
    return data;
  }

  function creationOptions(o) {
    return {
      ...o, challenge: toBytes(o.challenge), user: { ...o.user, id: toBytes(o.user.id) },
      excludeCredentials: (o.excludeCredentials || []).map((c) => ({ ...c, id: toBytes(c.id) })),
    };
  }
  function requestOptions(o) {
    return {
      ...o, challenge: toBytes(o.challenge),
      allowCredentials: (o.allowCredentials || []).map((c) => ({ ...c, id: toBytes(c.id) })),
    };
  }
  function registrationJSON(cred) {
    return {
      id: cred.id, rawId: toB64url(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment,
      clientExtensionResults: cred.getClientExtensionResults(),
      response: {
        clientDataJSON: toB64url(cred.response.clientDataJSON),
        attestationObject: toB64url(cred.response.attestationObject),
        transports: cred.response.getTransports ? cred.response.getTransports() : [],
      },
    };
  }
  function assertionJSON(cred) {
    const r = cred.response;
    return {
      id: cred.id, rawId: toB64url(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment,
      clientExtensionResults: cred.getClientExtensionResults(),
      response: {
        clientDataJSON: toB64url(r.clientDataJSON),
        authenticatorData: toB64url(r.authenticatorData),
        signature: toB64url(r.signature),
        userHandle: r.userHandle ? toB64url(r.userHandle) : null,
      },
    };
  }

  // The browser's own WebAuthn errors (DOMException names) carry English text: show ours.
  function describe(el, err) {
    if (err?.forPerson && err.message) return err.message;
    switch (err?.name) {
      case "NotAllowedError": return el.dataset.cancelled || texts.cancelled;
      case "InvalidStateError": return texts.exists;
      case "NotSupportedError":
      case "SecurityError": return texts.unsupported;
      default: return texts.failed;
    }
  }

  function showError(el, err) {
    if (!el) return;
    el.textContent = describe(el, err) || "";
    el.hidden = false;
  }

  return { post, creationOptions, requestOptions, registrationJSON, assertionJSON, showError };
})();

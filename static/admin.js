// The console's passkey ceremonies: enrolment (create), sign-in and re-verification (get).
"use strict";

(function () {
  const button = document.getElementById("admin-passkey");
  if (!button) return;
  const errorEl = document.getElementById("admin-passkey-error");
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";

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

  async function post(url, body) {
    const resp = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body || {}),
    });
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error(data.message || "error");
    return data;
  }

  async function create(o) {
    const cred = await navigator.credentials.create({ publicKey: {
      ...o, challenge: toBytes(o.challenge), user: { ...o.user, id: toBytes(o.user.id) },
      excludeCredentials: (o.excludeCredentials || []).map((c) => ({ ...c, id: toBytes(c.id) })),
    } });
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

  async function get(o) {
    const cred = await navigator.credentials.get({ publicKey: {
      ...o, challenge: toBytes(o.challenge),
      allowCredentials: (o.allowCredentials || []).map((c) => ({ ...c, id: toBytes(c.id) })),
    } });
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

  button.addEventListener("click", async () => {
    errorEl.hidden = true;
    try {
      const options = await post(button.dataset.options);
      const credential = button.dataset.ceremony === "create" ? await create(options) : await get(options);
      const result = await post(button.dataset.verify, { credential, next: button.dataset.next });
      window.location.assign(result.redirect);
    } catch (err) {
      errorEl.textContent = err && err.name === "NotAllowedError" ? errorEl.dataset.cancelled : err.message;
      errorEl.hidden = false;
    }
  });
})();

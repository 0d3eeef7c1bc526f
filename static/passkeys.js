// Passkeys: registration (account page), sign-in by button and by autofill (conditional UI).
"use strict";

(function () {
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

  function showError(el, err) {
    if (!el) return;
    el.textContent = err && err.name === "NotAllowedError" ? el.dataset.cancelled : err.message;
    el.hidden = false;
  }

  // -- registration -------------------------------------------------------------------------
  const addButton = document.getElementById("passkey-add");
  if (addButton) {
    addButton.addEventListener("click", async () => {
      const errorEl = document.getElementById("passkey-error");
      try {
        const options = await post("/passkeys/register/options");
        const cred = await navigator.credentials.create({ publicKey: creationOptions(options) });
        const name = document.getElementById("passkey-name")?.value || "";
        await post("/passkeys/register/verify", { credential: registrationJSON(cred), name });
        window.location.assign(addButton.dataset.done || "/account/?notice=passkey_added");
      } catch (err) { showError(errorEl, err); }
    });
  }

  // -- sign-in ------------------------------------------------------------------------------
  const loginButton = document.getElementById("passkey-login");
  if (!loginButton) return;
  const errorEl = document.getElementById("passkey-error");
  const context = { interaction: loginButton.dataset.interaction, next: loginButton.dataset.next };
  let conditional = null;

  async function signIn(options, mediation, signal) {
    const cred = await navigator.credentials.get({
      publicKey: requestOptions(options), mediation, signal,
    });
    const result = await post("/passkeys/login/verify",
      { credential: assertionJSON(cred), ...context });
    window.location.assign(result.redirect);
  }

  loginButton.addEventListener("click", async () => {
    if (conditional) conditional.abort();
    try {
      const email = document.getElementById("email")?.value || "";
      await signIn(await post("/passkeys/login/options", { email }), "optional");
    } catch (err) { showError(errorEl, err); }
  });

  (async () => {
    if (!window.PublicKeyCredential?.isConditionalMediationAvailable) return;
    if (!(await PublicKeyCredential.isConditionalMediationAvailable())) return;
    conditional = new AbortController();
    try {
      await signIn(await post("/passkeys/login/options", {}), "conditional", conditional.signal);
    } catch (err) {
      if (err.name !== "AbortError") showError(errorEl, err);
    }
  })();
})();

// Passkeys: registration (account page), sign-in by button and by autofill (conditional UI).
"use strict";

(function () {
  const { post, creationOptions, requestOptions, registrationJSON, assertionJSON, showError } =
    window.AvainWebAuthn;

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
        window.location.assign(addButton.dataset.done || "/account/security?notice=passkey_added");
      } catch (err) { showError(errorEl, err); }
    });
  }

  // -- confirming with a passkey before a sensitive change (account page) --------------------
  const confirmButton = document.getElementById("passkey-confirm");
  if (confirmButton) {
    confirmButton.addEventListener("click", async () => {
      const errorEl = document.getElementById("passkey-error");
      try {
        const options = await post("/passkeys/confirm/options");
        const cred = await navigator.credentials.get({ publicKey: requestOptions(options) });
        const result = await post("/passkeys/confirm/verify",
          { credential: assertionJSON(cred), next: confirmButton.dataset.next });
        window.location.assign(result.redirect);
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

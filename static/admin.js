// The console's passkey ceremonies: enrolment (create), sign-in and re-verification (get).
"use strict";

(function () {
  const button = document.getElementById("admin-passkey");
  if (!button) return;
  const errorEl = document.getElementById("admin-passkey-error");
  const { post, creationOptions, requestOptions, registrationJSON, assertionJSON, showError } =
    window.AvainWebAuthn;

  button.addEventListener("click", async () => {
    errorEl.hidden = true;
    try {
      const options = await post(button.dataset.options);
      const credential = button.dataset.ceremony === "create"
        ? registrationJSON(await navigator.credentials.create({ publicKey: creationOptions(options) }))
        : assertionJSON(await navigator.credentials.get({ publicKey: requestOptions(options) }));
      const result = await post(button.dataset.verify, { credential, next: button.dataset.next });
      window.location.assign(result.redirect);
    } catch (err) { showError(errorEl, err); }
  });
})();

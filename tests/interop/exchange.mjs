// The tire shop to garage handoff (RFC 9396 + RFC 8693) through openid-client (v6), an
// independent client library, driven against a running Avain by
// tests/interop/test_token_exchange_interop.py.
//
// Usage: node exchange.mjs '{"issuer": ...,
//   "shop": {"client_id", "client_secret", "redirect_uri"},
//   "garage": {"client_id", "client_secret", "redirect_uri"},
//   "authorization_details": [...]}'
//
// Line-delimited JSON on stdio, as rp.mjs. When it needs a browser it writes
//   {"browse": URL, "purpose": ...}
// and reads back the URL the browser was finally sent to (a redirect_uri with the code or
// the error). When it needs the person or the operator to act it writes
//   {"do": "withdraw"} or {"do": "handoff_lifetime", "seconds": N | null}
// and reads back one line when it is done. At the end it writes {"result": {...}}; when
// something openid-client did not expect fails, {"error": {...}} and exits with status 1.
// Each refusal is recorded as what openid-client raised: its class, code, the OAuth error
// and error_description of the response body, the HTTP status.

import * as client from "openid-client";
import { createInterface } from "node:readline";

const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS = "urn:ietf:params:oauth:token-type:access_token";
const JWT = "urn:ietf:params:oauth:token-type:jwt";

const cfg = JSON.parse(process.argv[2]);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const details = JSON.stringify(cfg.authorization_details);

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

async function answer(what) {
  const { value, done } = await lines.next();
  if (done) throw new Error(`stdin closed while waiting for ${what}`);
  return value.trim();
}

async function browse(url, purpose) {
  emit({ browse: url.href, purpose });
  return new URL(await answer(`the ${purpose} browser step`));
}

async function ask(action) {
  emit(action);
  await answer(action.do);
}

// Runs fn, which must fail; returns what openid-client reported (null if it did not fail).
async function refused(fn) {
  try {
    await fn();
  } catch (err) {
    return {
      name: err.name,
      code: err.code ?? null,
      error: err.error ?? null,
      error_description: err.error_description ?? null,
      status: err.status ?? null,
      challenges: err.cause?.[0]?.parameters ?? null,
      message: err.message,
    };
  }
  return null;
}

// The payload of a JWT, unverified: only to learn when the handoff expires (the Python test
// verifies the signature).
function payloadOf(jwt) {
  return JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString());
}

async function configure(who) {
  return client.discovery(
    new URL(cfg.issuer),
    who.client_id,
    { redirect_uris: [who.redirect_uri] },
    client.ClientSecretBasic(who.client_secret),
    { execute: [client.allowInsecureRequests] },
  );
}

// The authorization code flow with PKCE, state and nonce; openid-client checks the
// response (state, iss), the ID token and PKCE.
async function signIn(config, who, purpose, extra = {}) {
  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: who.redirect_uri,
    scope: "openid",
    code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: "S256",
    state,
    nonce,
    ...extra,
  });
  const callback = await browse(url, purpose);
  return client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
}

// Step B: the shop's access token for a handoff token for the garage.
function handOver(shop, accessToken, extra = {}) {
  return client.genericGrantRequest(shop, TOKEN_EXCHANGE, {
    subject_token: accessToken,
    subject_token_type: ACCESS,
    audience: cfg.garage.client_id,
    ...extra,
  });
}

// Step C: a partner redeems a handoff token.
function redeem(config, handoff) {
  return client.genericGrantRequest(config, TOKEN_EXCHANGE, {
    subject_token: handoff,
    subject_token_type: JWT,
  });
}

function tokenResponse(r) {
  return {
    access_token: r.access_token,
    issued_token_type: r.issued_token_type ?? null,
    token_type: r.token_type,
    expires_in: r.expires_in ?? null,
    scope: r.scope ?? null,
    authorization_details: r.authorization_details ?? null,
    has_refresh_token: typeof r.refresh_token === "string",
  };
}

const result = { refusals: {} };
const refusals = result.refusals;

async function main() {
  const shop = await configure(cfg.shop);
  const garage = await configure(cfg.garage);
  const meta = shop.serverMetadata();
  result.discovery = {
    grant_types_supported: meta.grant_types_supported ?? [],
    authorization_details_types_supported: meta.authorization_details_types_supported ?? [],
  };

  // Step A refused at once: a details type no agreement carries (RFC 9396 §5).
  refusals.authorize_type_not_allowed = await refused(() =>
    signIn(shop, cfg.shop, "bad_details", {
      authorization_details: JSON.stringify([{ type: "payment_initiation" }]),
    }),
  );

  // Step A: the shop asks consent for the garage, with the order.
  const shopTokens = await signIn(shop, cfg.shop, "consent", { authorization_details: details });
  result.shop_tokens = tokenResponse(shopTokens);
  const subjectToken = shopTokens.access_token;

  // Step B refusals.
  refusals.no_agreement = await refused(() =>
    handOver(shop, subjectToken, { audience: cfg.shop.client_id }),
  );
  refusals.details_type_not_allowed = await refused(() =>
    handOver(shop, subjectToken, {
      authorization_details: JSON.stringify([{ type: "payment_initiation" }]),
    }),
  );

  // Step B: the handoff token.
  const handoff = await handOver(shop, subjectToken, { requested_token_type: JWT });
  result.handoff = tokenResponse(handoff);

  // Step C refused: the handoff is the garage's, not the shop's; it stays redeemable.
  refusals.wrong_audience = await refused(() => redeem(shop, handoff.access_token));

  // Step C: the garage's own access token. Step D: userinfo with it says who the customer
  // is (the handoff token names nobody: the Python test compares this sub with the one in
  // the garage's own ID token below).
  const garageToken = await redeem(garage, handoff.access_token);
  result.redemption = tokenResponse(garageToken);
  result.userinfo = await client.fetchUserInfo(
    garage,
    garageToken.access_token,
    client.skipSubjectCheck,
  );
  refusals.reused = await refused(() => redeem(garage, handoff.access_token));

  // An expired handoff: the operator shortens the lifetime for this one.
  await ask({ do: "handoff_lifetime", seconds: 1 });
  let shortLived;
  try {
    shortLived = await handOver(shop, subjectToken);
  } finally {
    await ask({ do: "handoff_lifetime", seconds: null });
  }
  result.short_lived = tokenResponse(shortLived);
  const wait = payloadOf(shortLived.access_token).exp * 1000 - Date.now() + 1100;
  await new Promise((resolve) => setTimeout(resolve, Math.max(wait, 0)));
  refusals.expired = await refused(() => redeem(garage, shortLived.access_token));

  // The garage's own sign-in: no form, no consent page, the same customer.
  const garageSignIn = await signIn(garage, cfg.garage, "sso");
  result.garage_id_token_claims = garageSignIn.claims();

  // The shop presents an access token issued to the garage.
  refusals.subject_token_of_another_client = await refused(() =>
    handOver(shop, garageSignIn.access_token),
  );

  // A handoff in flight when the customer withdraws consent to share with the garage.
  const pending = await handOver(shop, subjectToken);
  await ask({ do: "withdraw" });
  refusals.redeem_after_withdrawal = await refused(() => redeem(garage, pending.access_token));
  refusals.consent_withdrawn = await refused(() => handOver(shop, subjectToken));
  refusals.userinfo_after_withdrawal = await refused(() =>
    client.fetchUserInfo(garage, garageToken.access_token, result.userinfo.sub),
  );

  // The customer is asked again and presses "Do not share": access_denied, nothing shared.
  refusals.authorize_do_not_share = await refused(() =>
    signIn(shop, cfg.shop, "do_not_share", { authorization_details: details, prompt: "consent" }),
  );

  // Asked again, the customer leaves "agree" unticked: a refusal the ledger records.
  refusals.authorize_consent_refused = await refused(() =>
    signIn(shop, cfg.shop, "refuse", { authorization_details: details, prompt: "consent" }),
  );
  refusals.consent_refused = await refused(() => handOver(shop, subjectToken));

  emit({ result });
}

main().then(
  () => process.exit(0),
  (err) => {
    emit({
      error: {
        name: err?.name, code: err?.code ?? null, message: String(err?.message ?? err),
        error: err?.error ?? null, error_description: err?.error_description ?? null,
        cause: err?.cause === undefined ? null : String(JSON.stringify(err.cause) ?? err.cause),
      },
      partial: result,
    });
    process.exit(1);
  },
);

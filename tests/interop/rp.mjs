// A relying party built on openid-client (v6), a certified OpenID Connect RP library,
// driven against a running Avain by tests/interop/test_openid_client.py.
//
// Usage: node rp.mjs '{"issuer": ..., "client_id": ..., "client_secret": ...,
//                      "redirect_uri": ..., "post_logout_redirect_uri": ...}'
//
// Talks line-delimited JSON on stdio. When it needs a browser it writes
//   {"browse": URL, "purpose": "authorize" | "logout"}
// and reads one line back: the URL the browser was finally sent to (the client's
// redirect_uri with the code, or the post-logout redirect URI). At the end it writes
//   {"result": {...}}
// or, when openid-client rejects something, {"error": {...}} and exits with status 1.

import * as client from "openid-client";
import { createInterface } from "node:readline";

const cfg = JSON.parse(process.argv[2]);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

async function browse(url, purpose) {
  emit({ browse: url.href, purpose });
  const { value, done } = await lines.next();
  if (done) throw new Error(`stdin closed while waiting for the ${purpose} browser step`);
  return new URL(value.trim());
}

// Runs fn, which must fail; returns what openid-client reported.
async function rejected(fn) {
  try {
    await fn();
  } catch (err) {
    return {
      name: err.name,
      code: err.code ?? null,
      error: err.error ?? null,
      status: err.status ?? null,
      challenges: err.cause?.[0]?.parameters ?? null,
      message: err.message,
    };
  }
  return null;
}

const result = {};

async function main() {
  // Discovery (OIDC Discovery 1.0 §4). http:// is allowed only for this loopback test.
  const config = await client.discovery(
    new URL(cfg.issuer),
    cfg.client_id,
    { redirect_uris: [cfg.redirect_uri], post_logout_redirect_uris: [cfg.post_logout_redirect_uri] },
    client.ClientSecretBasic(cfg.client_secret),
    { execute: [client.allowInsecureRequests] },
  );
  const meta = config.serverMetadata();
  result.discovery = {
    issuer: meta.issuer,
    supportsPKCE: meta.supportsPKCE(),
    iss_parameter_supported: meta.authorization_response_iss_parameter_supported ?? false,
    end_session_endpoint: meta.end_session_endpoint,
  };

  // Authorization request (OIDC Core §3.1.2.1) with PKCE S256, state and nonce.
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: cfg.redirect_uri,
    scope: "openid profile email",
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: "S256",
    state,
    nonce,
  });
  const callback = await browse(authUrl, "authorize");
  result.callback = Object.fromEntries(callback.searchParams);

  // Token request; openid-client checks state, RFC 9207 iss, the ID token
  // (signature from jwks_uri, iss, aud, exp, iat, nonce) and PKCE.
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: codeVerifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  result.tokens = {
    token_type: tokens.token_type,
    expires_in: tokens.expiresIn(),
    scope: tokens.scope,
    has_refresh_token: typeof tokens.refresh_token === "string",
  };
  result.id_token_claims = claims;

  // UserInfo (OIDC Core §5.3); openid-client checks that sub matches the ID token.
  result.userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);

  // Refresh (RFC 6749 §6, OIDC Core §12); a new ID token is validated again.
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  result.refresh = {
    new_access_token: refreshed.access_token !== tokens.access_token,
    new_refresh_token:
      typeof refreshed.refresh_token === "string" && refreshed.refresh_token !== tokens.refresh_token,
    id_token_claims: refreshed.id_token ? refreshed.claims() : null,
    scope: refreshed.scope,
  };
  result.userinfo_after_refresh = await client.fetchUserInfo(config, refreshed.access_token, claims.sub);

  // Introspection (RFC 7662). The first access token outlives the refresh.
  const refreshHint = { token_type_hint: "refresh_token" };
  result.introspect = {
    access: await client.tokenIntrospection(config, refreshed.access_token),
    refresh: await client.tokenIntrospection(config, refreshed.refresh_token, refreshHint),
    first_access: await client.tokenIntrospection(config, tokens.access_token),
    rotated_refresh: await client.tokenIntrospection(config, tokens.refresh_token, refreshHint),
  };

  // Revocation (RFC 7009 §2.1). An access token alone (Avain may take the refresh token
  // issued with it along, which the RFC allows, so the first access token is used).
  await client.tokenRevocation(config, tokens.access_token, { token_type_hint: "access_token" });
  result.after_access_revocation = {
    revoked: await client.tokenIntrospection(config, tokens.access_token),
    other_access: await client.tokenIntrospection(config, refreshed.access_token),
    userinfo: await rejected(() => client.fetchUserInfo(config, tokens.access_token, claims.sub)),
  };
  // A refresh token: SHOULD also end the access tokens of the same grant.
  await client.tokenRevocation(config, refreshed.refresh_token, refreshHint);
  result.after_refresh_revocation = {
    refresh: await client.tokenIntrospection(config, refreshed.refresh_token, refreshHint),
    access: await client.tokenIntrospection(config, refreshed.access_token),
    refresh_grant: await rejected(() => client.refreshTokenGrant(config, refreshed.refresh_token)),
  };
  // Reusing the rotated refresh token is refused too.
  result.rotated_refresh_grant = await rejected(() => client.refreshTokenGrant(config, tokens.refresh_token));

  // RP-Initiated Logout 1.0 §2.
  const logoutState = client.randomState();
  const endSession = client.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token,
    post_logout_redirect_uri: cfg.post_logout_redirect_uri,
    state: logoutState,
  });
  const landed = await browse(endSession, "logout");
  result.logout = {
    end_session_url: endSession.href,
    landed: landed.href,
    landed_at_post_logout_uri: landed.origin + landed.pathname === cfg.post_logout_redirect_uri,
    state_matches: landed.searchParams.get("state") === logoutState,
  };
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

// The numgate playground: a CAMARA Number Verification run by the browser,
// as device (POST /authorize) and as the relying party's backend (POST
// /token, then POST /verify or GET /device-phone-number). The flow's
// secrets (PKCE verifier, state) and the claimed number stay in this
// tab's sessionStorage between the two pages.
"use strict";

const saved = "numgate-playground";

function b64url(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function random(n) {
  return b64url(crypto.getRandomValues(new Uint8Array(n)));
}

async function challenge(verifier) {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return b64url(new Uint8Array(d));
}

function show(verdict) {
  document.getElementById("result").hidden = false;
  document.getElementById("verdict").value = verdict;
}

// step adds a request and its answer to the list of steps.
function step(title, request, status, body) {
  document.getElementById("result").hidden = false;
  const li = document.createElement("li");
  const h = document.createElement("strong");
  h.textContent = title + (status ? " \u2192 HTTP " + status : "");
  const req = document.createElement("pre");
  req.textContent = request;
  li.append(h, req);
  if (body !== undefined) {
    const res = document.createElement("pre");
    res.textContent = typeof body === "string" ? body : JSON.stringify(body, null, 2);
    li.append(res);
  }
  document.getElementById("steps").append(li);
}

async function call(title, url, init, describe) {
  const res = await fetch(url, init);
  const text = await res.text();
  let body = text;
  try { body = JSON.parse(text); } catch (e) { /* not JSON: shown as text */ }
  step(title, describe, res.status, body);
  return { ok: res.ok, body };
}

// start sends the browser to /authorize as the demo client.
async function start(form) {
  const cfg = form.dataset;
  const number = form.number.value.trim();
  const question = form.question.value;
  const verifier = random(32);
  const state = random(16);
  sessionStorage.setItem(saved, JSON.stringify({ verifier, state, number, question }));
  const scope = cfg.purpose + " " + (question === "share"
    ? "number-verification:device-phone-number:read" : "number-verification:verify");
  const params = {
    response_type: "code", client_id: cfg.clientId, redirect_uri: cfg.redirectUri, scope, state,
    code_challenge: await challenge(verifier), code_challenge_method: "S256", login_hint: "tel:" + number,
  };
  // A form POST, not a GET: login_hint is the number, and a URL the
  // browser opens stays in its history (and in any proxy's access log).
  const f = document.createElement("form");
  f.method = "POST";
  f.action = cfg.issuer + "/authorize";
  f.hidden = true;
  for (const [name, value] of Object.entries(params)) {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    f.append(input);
  }
  document.body.append(f);
  f.submit();
}

// finish runs the backend steps with the code the gateway redirected to.
async function finish(form) {
  const cfg = form.dataset;
  const p = new URLSearchParams(location.search);
  const flow = JSON.parse(sessionStorage.getItem(saved) || "null");
  sessionStorage.removeItem(saved);
  history.replaceState(null, "", location.pathname); // the code is used once: keep it out of reloads
  if (flow) {
    form.number.value = flow.number;
    form.question.value = flow.question;
  }
  step("POST /authorize (the browser, as the device)", "redirected back with: " +
    Array.from(p.keys()).join(", "), "", Object.fromEntries(Array.from(p).filter(([k]) => k !== "code")));
  // The state first, for an error too: a link to this page with an error
  // or a code of someone else's must not be shown as this flow's verdict.
  if (!flow || p.get("state") !== flow.state) {
    show("state mismatch: start again from this page");
    return;
  }
  if (p.has("error")) {
    show(p.get("error"));
    return;
  }
  const token = await call("POST /token (the backend)", cfg.issuer + "/token", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code", code: p.get("code"), redirect_uri: cfg.redirectUri,
      code_verifier: flow.verifier, client_id: cfg.clientId, client_secret: cfg.clientSecret,
    }),
  }, "grant_type=authorization_code, code, redirect_uri, code_verifier, client_secret_post");
  if (!token.ok) {
    show("token refused: " + (token.body.error || "error"));
    return;
  }
  const auth = { Authorization: "Bearer " + token.body.access_token };
  if (flow.question === "share") {
    const r = await call("GET /number-verification/v2/device-phone-number (the backend)",
      cfg.api + "/number-verification/v2/device-phone-number", { headers: auth }, "Authorization: Bearer <access token>");
    show(r.ok ? "the device's number is " + r.body.devicePhoneNumber : "error: " + (r.body.code || r.body));
    return;
  }
  const r = await call("POST /number-verification/v2/verify (the backend)", cfg.api + "/number-verification/v2/verify", {
    method: "POST",
    headers: Object.assign({ "Content-Type": "application/json" }, auth),
    body: JSON.stringify({ phoneNumber: flow.number }),
  }, "Authorization: Bearer <access token>\n" + JSON.stringify({ phoneNumber: flow.number }));
  if (!r.ok) {
    show("error: " + (r.body.code || r.body));
  } else {
    show(r.body.devicePhoneNumberVerified ? "verified" : "not verified");
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("start");
  const home = new URL(form.dataset.issuer);
  if (location.origin !== home.origin) { // the redirect comes back to the issuer's origin only
    location.replace(form.dataset.issuer + "/playground");
    return;
  }
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    start(form).catch((err) => show("error: " + err));
  });
  for (const b of document.querySelectorAll("button.example")) {
    b.addEventListener("click", () => { form.number.value = b.dataset.number; });
  }
  if (form.dataset.callback === "true") {
    finish(form).catch((err) => show("error: " + err));
  }
});

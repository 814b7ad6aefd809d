// authpages: the one script of every page.
//
// It talks to the authkit API (httpauth, in cookie mode) on this origin
// only. The refresh token lives in an HttpOnly cookie this script never
// sees; the access token lives in a variable of this script, in memory
// only (never in localStorage, sessionStorage or a cookie), and goes to
// the API in an Authorization header. Tokens of emailed links are read
// from the address bar, removed from it at once, and sent to the API only
// when the person acts. Text from the API or the user is only ever put in
// the page as text (textContent), never as markup. The ticket of a
// two-step sign-in, the secret of a new authenticator app and recovery
// codes live in the page only while the person needs them.
(function () {
  "use strict";

  var body = document.body;
  var conf = body.dataset;
  var api = conf.api;
  var minLength = parseInt(conf.minLength, 10) || 8;
  var maxBytes = parseInt(conf.maxBytes, 10) || 72;
  var accessToken = "";

  // ---- talking to the API ----

  // call sends one request to the API and resolves to {status, ok, data}:
  // status 0 when the server could not be reached.
  async function call(method, path, options) {
    options = options || {};
    var headers = { "Accept": "application/json" };
    var init = {
      method: method,
      headers: headers,
      credentials: "same-origin",
      cache: "no-store",
      redirect: "error",
      referrerPolicy: "no-referrer"
    };
    if (method === "POST") {
      headers["Content-Type"] = "application/json";
      if (options.body !== undefined) {
        init.body = JSON.stringify(options.body);
      }
    }
    if (options.bearer) {
      headers["Authorization"] = "Bearer " + accessToken;
    }
    var res;
    try {
      res = await fetch(api + path, init);
    } catch (e) {
      return { status: 0, ok: false, data: { detail: conf.msgNetwork } };
    }
    var data = {};
    if (res.status !== 204) {
      try {
        data = (await res.json()) || {};
      } catch (e) {
        data = {};
      }
    }
    return { status: res.status, ok: res.ok, data: data };
  }

  // refresh trades the refresh cookie for an access token.
  async function refresh() {
    var r = await call("POST", "/refresh");
    accessToken = r.ok && typeof r.data.access_token === "string" ? r.data.access_token : "";
    return accessToken !== "";
  }

  // authed calls a bearer route, refreshing the access token once if it
  // is refused; when the session is gone, it sends the person to sign in
  // and resolves to null.
  async function authed(method, path, body) {
    var r = await call(method, path, { body: body, bearer: true });
    if (r.status === 401 && (await refresh())) {
      r = await call(method, path, { body: body, bearer: true });
    }
    if (r.status === 401) {
      toSignIn("session-ended");
      return null;
    }
    return r;
  }

  function signInURL(notice, returnTo) {
    var q = new URLSearchParams();
    if (returnTo) q.set("return", returnTo);
    if (notice) q.set("notice", notice);
    var s = q.toString();
    return conf.signin + (s ? "?" + s : "");
  }

  function toSignIn(notice) {
    accessToken = "";
    window.location.replace(signInURL(notice, conf.account));
  }

  // ---- showing things ----

  function byId(id) { return document.getElementById(id); }

  // say puts text, and the content of the template named action if any,
  // into a live region.
  function say(region, text, action) {
    if (!region) return;
    var nodes = [];
    if (text) {
      var p = document.createElement("p");
      p.textContent = text;
      nodes.push(p);
    }
    var tpl = action && byId(action);
    if (tpl && tpl.content) {
      nodes.push(tpl.content.cloneNode(true));
    }
    region.replaceChildren.apply(region, nodes);
  }

  function problemText(r) {
    return (r.data && typeof r.data.detail === "string" && r.data.detail) || conf.msgFailed;
  }

  function fieldInput(form, name) {
    return form.querySelector('[name="' + name + '"]');
  }

  // setFieldError shows text under the field name of form, or clears it;
  // it reports whether the form has that field.
  function setFieldError(form, name, text) {
    var input = fieldInput(form, name);
    var el = byId(form.id + "-" + name + "-error");
    if (!input || !el) return false;
    el.textContent = text || "";
    el.hidden = !text;
    if (text) {
      input.setAttribute("aria-invalid", "true");
    } else {
      input.removeAttribute("aria-invalid");
    }
    return true;
  }

  function clearErrors(form) {
    form.querySelectorAll("[aria-invalid]").forEach(function (input) {
      setFieldError(form, input.name, "");
    });
    say(byId(form.id + "-alert"), "");
    say(byId(form.id + "-status"), "");
  }

  function focusFirstInvalid(form) {
    var first = form.querySelector('[aria-invalid="true"]');
    if (first) first.focus();
  }

  // showProblem shows an API error on form: per-field messages under
  // their fields (fieldOf maps codes that concern one field to it), the
  // rest in the form's alert, with the recovery the actions map names.
  function showProblem(form, r, actions, fieldOf) {
    var fields = (r.data && (r.data.fields || r.data.errors)) || {};
    var rest = [];
    var shown = false;
    Object.keys(fields).forEach(function (name) {
      var msgs = Array.isArray(fields[name]) ? fields[name].join(" ") : String(fields[name]);
      if (setFieldError(form, name, msgs)) {
        shown = true;
      } else {
        rest.push(msgs);
      }
    });
    var code = r.data && r.data.code;
    var action = actions && actions[code];
    if (fieldOf && fieldOf[code] && setFieldError(form, fieldOf[code], problemText(r))) {
      say(byId(form.id + "-alert"), conf.msgFix, action);
    } else if (shown) {
      say(byId(form.id + "-alert"), rest.length ? rest.join(" ") : conf.msgFix, action);
    } else {
      say(byId(form.id + "-alert"), rest.length ? rest.join(" ") : problemText(r), action);
    }
    focusFirstInvalid(form);
  }

  // validate checks form before it is sent: required fields, email
  // addresses, the length of new passwords, repeated passwords.
  function validate(form) {
    var ok = true;
    form.querySelectorAll("input[name]").forEach(function (input) {
      if (input.closest("[hidden]")) return; // not shown, not asked for
      var v = input.value;
      var msg = "";
      if (input.required && v.trim() === "") {
        msg = conf.msgRequired;
      } else if (input.type === "email" && v !== "" && !/^[^\s@]+@[^\s@]+$/.test(v.trim())) {
        msg = conf.msgEmail;
      } else if (input.hasAttribute("data-new-password") && Array.from(v).length < minLength) {
        msg = conf.msgShort;
      } else if (input.hasAttribute("data-new-password") && new TextEncoder().encode(v).length > maxBytes) {
        msg = conf.msgLong;
      } else if (input.dataset.match && v !== fieldInput(form, input.dataset.match).value) {
        msg = conf.msgMismatch;
      }
      setFieldError(form, input.name, msg);
      if (msg) ok = false;
    });
    if (!ok) {
      say(byId(form.id + "-alert"), conf.msgFix);
      focusFirstInvalid(form);
    }
    return ok;
  }

  // onSubmit shows form, which waits hidden for this script, and listens
  // to it.
  function onSubmit(form, send) {
    form.hidden = false;
    listen(form, send);
  }

  // listen runs send when form is submitted and valid, with its submit
  // button disabled meanwhile.
  function listen(form, send) {
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      var button = form.querySelector('button[type="submit"]');
      if (button.disabled) return;
      clearErrors(form);
      if (!validate(form)) return;
      button.disabled = true;
      try {
        await send(function (name) { return fieldInput(form, name).value; });
      } finally {
        button.disabled = false;
      }
    });
  }

  // resend asks for a new verification link for email and says so in
  // region.
  async function resend(email, region, button) {
    if (!email) {
      say(region, conf.msgRequired);
      return;
    }
    if (button) button.disabled = true;
    var r = await call("POST", "/resend-verification", { body: { email: email.trim() } });
    if (button) button.disabled = false;
    say(region, r.ok ? r.data.message : problemText(r));
  }

  // Buttons that resend a verification link to the address typed in
  // another field: data-resend names the field, data-status the region.
  document.addEventListener("click", function (ev) {
    var button = ev.target.closest && ev.target.closest("button[data-resend]");
    if (!button) return;
    var input = byId(button.dataset.resend);
    resend(input ? input.value : "", byId(button.dataset.status), button);
  });

  // takeToken reads the token of an emailed link and removes it from the
  // address bar (and so from history).
  function takeToken() {
    var token = new URLSearchParams(window.location.search).get("token") || "";
    if (window.location.search) {
      history.replaceState(null, "", window.location.pathname);
    }
    return token;
  }

  // codeOf reads a one-time code as typed: the spaces some apps show
  // inside a code, or a person types around it, are dropped.
  function codeOf(value) {
    return value.replace(/\s+/g, "");
  }

  // Buttons that let a code field take a recovery code, which has letters:
  // data-recovery names the field, whose keyboard on a phone then has
  // letters too.
  document.addEventListener("click", function (ev) {
    var button = ev.target.closest && ev.target.closest("button[data-recovery]");
    if (!button) return;
    var input = byId(button.dataset.recovery);
    input.setAttribute("inputmode", "text");
    button.hidden = true;
    input.focus();
  });

  // resetCode empties a code field and gives it back its digits keyboard.
  function resetCode(input) {
    input.value = "";
    input.setAttribute("inputmode", "numeric");
    document.querySelectorAll('button[data-recovery="' + input.id + '"]').forEach(function (b) { b.hidden = false; });
  }

  // ---- the pages ----

  // signedIn goes where sign-in leads.
  function signedIn() {
    var to = conf["return"] || conf.account;
    // The server checked it against its list; check the shape again.
    if (to.charAt(0) !== "/" || to.charAt(1) === "/" || to.charAt(1) === "\\") to = conf.account;
    window.location.assign(to);
  }

  // signIn runs the sign-in page: the password, then, for an account with
  // a second factor, a code on the same page.
  function signIn() {
    var form = byId("signin");
    var codeForm = byId("signin-code");
    var codeInput = fieldInput(codeForm, "code");
    // ticket binds the code to the password just checked; it lives here
    // only, for the few minutes the API allows.
    var ticket = "";

    function askForCode(r) {
      ticket = r.data.ticket;
      form.hidden = true;
      fieldInput(form, "password").value = ""; // the ticket stands for it now
      clearErrors(codeForm);
      resetCode(codeInput);
      codeForm.hidden = false;
      codeInput.focus();
      say(byId("signin-code-status"), codeForm.dataset.msgStep);
    }

    function backToPassword(text) {
      ticket = "";
      codeForm.hidden = true;
      clearErrors(codeForm);
      resetCode(codeInput);
      form.hidden = false;
      clearErrors(form);
      say(byId("signin-alert"), text);
      fieldInput(form, "password").focus();
    }

    onSubmit(form, async function (v) {
      var r = await call("POST", "/login", { body: { email: v("email").trim(), password: v("password") } });
      if (r.ok) {
        signedIn();
        return;
      }
      if (r.data && r.data.code === "second_factor_required" && typeof r.data.ticket === "string" && r.data.ticket) {
        askForCode(r);
        return;
      }
      showProblem(form, r, { invalid_credentials: "signin-forgot", email_not_verified: "signin-unverified" });
    });

    listen(codeForm, async function (v) {
      var r = await call("POST", "/login/second-factor", { body: { ticket: ticket, code: codeOf(v("code")) } });
      if (r.ok) {
        ticket = "";
        signedIn();
        return;
      }
      switch (r.data && r.data.code) {
        case "invalid_credentials": // the API's words are about passwords
          setFieldError(codeForm, "code", codeForm.dataset.msgWrong);
          say(byId("signin-code-alert"), conf.msgFix);
          focusFirstInvalid(codeForm);
          return;
        case "invalid_token":
        case "token_expired":
          backToPassword(codeForm.dataset.msgExpired);
          return;
        case "rate_limited": // this ticket may try no more codes
          backToPassword(problemText(r));
          return;
      }
      showProblem(codeForm, r);
    });
    byId("signin-code-back").addEventListener("click", function () { backToPassword(""); });
  }

  function signUp() {
    var form = byId("signup");
    onSubmit(form, async function (v) {
      var email = v("email").trim();
      var r = await call("POST", "/register", {
        body: { email: email, password: v("password"), display_name: v("display_name").trim() }
      });
      if (!r.ok) {
        showProblem(form, r, { email_taken: "signup-taken" }, { email_taken: "email" });
        return;
      }
      form.hidden = true;
      byId("signup-signin").hidden = true;
      byId("signup-done-email").textContent = email;
      byId("signup-continue").hidden = !r.data.access_token;
      byId("signup-done").hidden = false;
      byId("signup-done-title").focus();
    });
  }

  function forgot() {
    var form = byId("forgot");
    onSubmit(form, async function (v) {
      var r = await call("POST", "/forgot-password", { body: { email: v("email").trim() } });
      if (r.ok) {
        say(byId("forgot-status"), r.data.message);
      } else {
        showProblem(form, r);
      }
    });
  }

  function reset() {
    var token = takeToken();
    var form = byId("reset");
    var problem = byId("reset-problem");
    if (!token) {
      say(problem, conf.msgIncomplete, "reset-new-link");
      return;
    }
    onSubmit(form, async function (v) {
      var r = await call("POST", "/reset-password", { body: { token: token, password: v("password") } });
      if (r.ok) {
        form.hidden = true;
        byId("reset-done").hidden = false;
        byId("reset-done-title").focus();
        return;
      }
      var code = r.data && r.data.code;
      if (code === "invalid_token" || code === "token_expired") {
        form.hidden = true;
        say(problem, problemText(r), "reset-new-link");
        return;
      }
      showProblem(form, r);
    });
  }

  function verify() {
    var token = takeToken();
    var choices = byId("verify-choices");
    var alert = byId("verify-alert");
    var status = byId("verify-status");
    var resendForm = byId("resend");
    var offerResend = function () {
      onSubmit(resendForm, async function (v) {
        var r = await call("POST", "/resend-verification", { body: { email: v("email").trim() } });
        if (r.ok) {
          say(byId("resend-status"), r.data.message);
        } else {
          showProblem(resendForm, r);
        }
      });
    };
    if (!token) {
      byId("verify-question").hidden = true;
      say(alert, conf.msgIncomplete);
      offerResend();
      return;
    }
    // Nothing is spent until the person chooses: a mail scanner that
    // opens the link, even one that runs scripts, clicks no button.
    choices.hidden = false;
    var choose = async function (path, next) {
      choices.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      say(alert, "");
      var r = await call("POST", path, { body: { token: token } });
      if (r.ok) {
        choices.hidden = true;
        byId("verify-question").hidden = true;
        say(status, r.data.message, next);
        return;
      }
      var code = r.data && r.data.code;
      if (code === "invalid_token" || code === "token_expired") {
        choices.hidden = true;
        byId("verify-question").hidden = true;
        say(alert, problemText(r));
        offerResend();
        return;
      }
      choices.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
      say(alert, problemText(r));
    };
    byId("verify-confirm").addEventListener("click", function () { choose("/verify-email", "verify-confirmed"); });
    byId("verify-decline").addEventListener("click", function () { choose("/decline-registration", "verify-declined"); });
  }

  async function account() {
    var alert = byId("account-alert");
    if (!(await refresh())) {
      toSignIn("");
      return;
    }
    var results = await Promise.all([authed("GET", "/me"), loadSessions(), loadTwoStep()]);
    var me = results[0];
    if (!me) return;
    if (!me.ok) {
      byId("account-loading").hidden = true;
      say(alert, problemText(me));
      return;
    }
    var user = me.data;
    byId("account-email").textContent = user.email;
    byId("account-name").textContent = user.display_name || "—";
    byId("account-verified").textContent = user.email_verified ? "Confirmed" : "Not confirmed";
    byId("account-unverified").hidden = !!user.email_verified;
    byId("password-username").value = user.email;
    byId("account-loading").hidden = true;
    byId("account").hidden = false;

    byId("account-resend").addEventListener("click", function (ev) {
      resend(user.email, byId("account-status"), ev.currentTarget);
    });
    setUpReauthentication(user.email);
    setUpTwoStep();

    var form = byId("password");
    onSubmit(form, async function (v) {
      var r = await sensitive("POST", "/change-password", {
        current_password: v("current_password"),
        new_password: v("new_password")
      });
      if (!r) return;
      if (!r.ok) {
        showProblem(form, r);
        return;
      }
      if (typeof r.data.access_token === "string" && r.data.access_token) {
        accessToken = r.data.access_token;
      }
      form.reset();
      byId("password-username").value = user.email;
      say(byId("password-status"), r.data.message);
      await loadSessions();
    });

    byId("sign-out").addEventListener("click", signOut);
    byId("sign-out-everywhere").addEventListener("click", async function (ev) {
      var button = ev.currentTarget;
      button.disabled = true;
      var r = await authed("POST", "/logout-all");
      if (!r) return;
      if (!r.ok) {
        button.disabled = false;
        say(byId("sessions-alert"), problemText(r));
        return;
      }
      // Every session has ended; also let the server drop the cookie.
      await call("POST", "/logout");
      accessToken = "";
      window.location.assign(signInURL("signed-out-everywhere"));
    });
  }

  async function signOut() {
    await call("POST", "/logout");
    accessToken = "";
    window.location.assign(signInURL("signed-out"));
  }

  // ---- confirming who it is, before a sensitive change ----

  // reauthDone resolves the pending confirmIdentity, if any; reauthOK says
  // whether the person confirmed.
  var reauthDone = null;
  var reauthOK = false;

  // sensitive calls a bearer route like authed, for a change that may
  // want a recent sign-in: on 403 reauthentication_required it asks for
  // the password (and a code, when the account has a second factor), and
  // once the API has confirmed them it calls again with the fresh access
  // token. It resolves like authed, or to null when the person cancels.
  async function sensitive(method, path, body) {
    var r = await authed(method, path, body);
    if (!r || r.status !== 403 || !r.data || r.data.code !== "reauthentication_required") return r;
    if (!(await confirmIdentity())) return null;
    return authed(method, path, body);
  }

  // confirmIdentity opens the dialog that asks for the password (and a
  // code); it resolves to true once POST /reauthenticate has given a
  // fresh access token, false when the person cancels.
  function confirmIdentity() {
    if (reauthDone) return Promise.resolve(false); // one at a time
    return new Promise(function (resolve) {
      reauthDone = resolve;
      var withCode = !!(twoStep && twoStep.totp);
      byId("reauth-code-field").hidden = !withCode;
      byId("reauth-with-code").hidden = !withCode;
      byId("reauth-dialog").showModal();
      byId("reauth-password").focus();
    });
  }

  function setUpReauthentication(email) {
    var dialog = byId("reauth-dialog");
    var form = byId("reauth");
    byId("reauth-username").value = email;
    listen(form, async function (v) {
      var body = { password: v("password") };
      if (!byId("reauth-code-field").hidden) body.code = codeOf(v("code"));
      var r = await authed("POST", "/reauthenticate", body);
      if (!r) return;
      if (r.ok && typeof r.data.access_token === "string" && r.data.access_token) {
        accessToken = r.data.access_token;
        reauthOK = true;
        dialog.close();
        return;
      }
      if (r.data && r.data.fields && r.data.fields.code) {
        // The account has a second factor this page did not know of.
        byId("reauth-code-field").hidden = false;
        byId("reauth-with-code").hidden = false;
      }
      showProblem(form, r);
    });
    byId("reauth-cancel").addEventListener("click", function () { dialog.close(); });
    // Closed by either button or by Escape: forget what was typed, and
    // let the change go on or stop.
    dialog.addEventListener("close", function () {
      var done = reauthDone;
      var ok = reauthOK;
      reauthDone = null;
      reauthOK = false;
      clearErrors(form);
      byId("reauth-password").value = "";
      resetCode(byId("reauth-code"));
      if (done) done(ok);
    });
  }

  // ---- two-step sign-in on the account page ----

  // twoStep is the account's second factor, {totp, recovery_codes_left},
  // once GET /second-factor has said.
  var twoStep = null;

  // loadTwoStep reads the account's second factor and shows it; it
  // resolves to the answer, or null when the session is gone.
  async function loadTwoStep() {
    var r = await authed("GET", "/second-factor");
    if (!r) return null;
    var section = byId("twostep");
    if (r.status === 404) { // second factors are off here
      section.hidden = true;
      return r;
    }
    section.hidden = false;
    if (!r.ok) {
      say(byId("twostep-alert"), problemText(r));
      return r;
    }
    twoStep = { totp: r.data.totp === true, recovery_codes_left: r.data.recovery_codes_left };
    showTwoStep();
    return r;
  }

  // showTwoStep shows what twoStep says, with the actions that fit.
  function showTwoStep() {
    var on = !!(twoStep && twoStep.totp);
    byId("twostep-off").hidden = !twoStep || on;
    byId("twostep-on").hidden = !on;
    byId("twostep-disable-confirm").hidden = true;
    byId("twostep-disable").setAttribute("aria-expanded", "false");
    var left = twoStep && twoStep.recovery_codes_left;
    byId("twostep-left").textContent = typeof left === "number" ? String(left) : "—";
  }

  function setUpTwoStep() {
    var alert = byId("twostep-alert");
    var status = byId("twostep-status");
    var form = byId("totp");
    var quiet = function () {
      say(alert, "");
      say(status, "");
    };

    // endEnrolment takes the secret out of the page.
    var endEnrolment = function () {
      form.hidden = true;
      clearErrors(form);
      resetCode(byId("totp-code"));
      byId("totp-qr").removeAttribute("src");
      byId("totp-secret").textContent = "";
      byId("totp-link").removeAttribute("href");
      byId("totp-open").hidden = true;
    };

    // showCodes shows new recovery codes, once.
    var showCodes = function (codes) {
      var items = codes.filter(function (c) { return typeof c === "string"; }).map(function (c) {
        var li = document.createElement("li");
        var code = document.createElement("code");
        code.textContent = c;
        li.appendChild(code);
        return li;
      });
      var list = byId("recovery-codes");
      list.replaceChildren.apply(list, items);
      byId("twostep-off").hidden = true;
      byId("twostep-on").hidden = true;
      byId("recovery").hidden = false;
      byId("recovery-title").focus();
    };

    byId("twostep-start").addEventListener("click", async function (ev) {
      var button = ev.currentTarget;
      quiet();
      button.disabled = true;
      var r = await sensitive("POST", "/second-factor/totp");
      button.disabled = false;
      if (!r) return;
      if (r.ok) {
        var qr = r.data.qr_code;
        var img = byId("totp-qr");
        if (typeof qr === "string" && qr.indexOf("data:image/png;base64,") === 0) {
          img.src = qr;
          img.hidden = false;
        } else {
          img.hidden = true;
        }
        // Groups of four are easier to type; apps ignore the spaces.
        byId("totp-secret").textContent = String(r.data.secret || "").replace(/(.{4})(?=.)/g, "$1 ");
        var uri = r.data.uri;
        if (typeof uri === "string" && uri.indexOf("otpauth://") === 0) {
          byId("totp-link").href = uri;
          byId("totp-open").hidden = false;
        }
        byId("twostep-off").hidden = true;
        form.hidden = false;
        byId("totp-title").focus();
        return;
      }
      switch (r.data && r.data.code) {
        case "not_found":
          byId("twostep-off").hidden = true;
          say(status, "", "twostep-unavailable");
          return;
        case "conflict":
          await loadTwoStep();
          say(status, "", "twostep-already-on");
          return;
      }
      say(alert, problemText(r));
    });

    listen(form, async function (v) {
      var r = await authed("POST", "/second-factor/totp/confirm", { code: codeOf(v("code")) });
      if (!r) return;
      if (r.ok && Array.isArray(r.data.recovery_codes)) {
        endEnrolment();
        twoStep = { totp: true, recovery_codes_left: r.data.recovery_codes.length };
        say(status, "", "twostep-turned-on");
        showCodes(r.data.recovery_codes);
        return;
      }
      if (r.status === 404) { // no set-up under way any more
        endEnrolment();
        showTwoStep();
        say(alert, "", "twostep-interrupted");
        byId("twostep-title").focus();
        return;
      }
      showProblem(form, r);
    });

    byId("totp-cancel").addEventListener("click", function () {
      endEnrolment();
      showTwoStep();
      byId("twostep-start").focus();
    });

    byId("recovery-done").addEventListener("click", function () {
      byId("recovery-codes").replaceChildren();
      byId("recovery").hidden = true;
      quiet();
      showTwoStep();
      byId("twostep-title").focus();
    });

    byId("twostep-new-codes").addEventListener("click", async function (ev) {
      var button = ev.currentTarget;
      quiet();
      button.disabled = true;
      var r = await sensitive("POST", "/second-factor/recovery-codes");
      button.disabled = false;
      if (!r) return;
      if (r.ok && Array.isArray(r.data.recovery_codes)) {
        twoStep.recovery_codes_left = r.data.recovery_codes.length;
        say(status, "", "twostep-new-codes-made");
        showCodes(r.data.recovery_codes);
        return;
      }
      say(alert, problemText(r));
    });

    var disable = byId("twostep-disable");
    var confirmBox = byId("twostep-disable-confirm");
    disable.addEventListener("click", function () {
      quiet();
      confirmBox.hidden = false;
      disable.setAttribute("aria-expanded", "true");
      byId("twostep-disable-no").focus();
    });
    byId("twostep-disable-no").addEventListener("click", function () {
      confirmBox.hidden = true;
      disable.setAttribute("aria-expanded", "false");
      disable.focus();
    });
    byId("twostep-disable-yes").addEventListener("click", async function (ev) {
      var button = ev.currentTarget;
      button.disabled = true;
      var r = await sensitive("DELETE", "/second-factor/totp");
      button.disabled = false;
      if (!r) return;
      if (!r.ok) {
        say(alert, problemText(r));
        return;
      }
      twoStep = { totp: false, recovery_codes_left: 0 };
      showTwoStep();
      say(status, "", "twostep-turned-off");
      byId("twostep-start").focus();
    });
  }

  // loadSessions lists the signed-in devices; it resolves to the answer
  // of GET /sessions, or null when the session is gone.
  async function loadSessions() {
    var r = await authed("GET", "/sessions");
    if (!r) return null;
    var list = byId("sessions");
    if (!r.ok) {
      say(byId("sessions-alert"), problemText(r));
      return r;
    }
    var tpl = byId("session-item");
    var items = (r.data.sessions || []).map(function (s, i) {
      var li = tpl.content.firstElementChild.cloneNode(true);
      var about = li.querySelector(".session-about");
      about.id = "session-" + i;
      li.querySelector(".session-agent").textContent = s.user_agent || conf.msgUnknownDevice;
      li.querySelector(".session-addr").textContent = s.client_addr ? s.client_addr + " · " : "";
      var used = li.querySelector(".session-used");
      used.dateTime = s.last_used_at;
      var when = new Date(s.last_used_at);
      used.textContent = isNaN(when) ? s.last_used_at : when.toLocaleString();
      li.querySelector(".session-current").hidden = !s.current;
      var button = li.querySelector(".session-end");
      button.setAttribute("aria-describedby", about.id);
      button.addEventListener("click", async function () {
        if (s.current) {
          signOut();
          return;
        }
        button.disabled = true;
        var end = await authed("DELETE", "/sessions/" + encodeURIComponent(s.id));
        if (!end) return;
        if (!end.ok && end.status !== 404) {
          button.disabled = false;
          say(byId("sessions-alert"), problemText(end));
          return;
        }
        say(byId("sessions-alert"), "");
        await loadSessions();
      });
      return li;
    });
    list.replaceChildren.apply(list, items);
    return r;
  }

  var pages = {
    "sign-in": signIn,
    "sign-up": signUp,
    "forgot-password": forgot,
    "reset-password": reset,
    "verify-email": verify,
    "account": account
  };
  var run = pages[conf.page];
  if (run) run();
})();

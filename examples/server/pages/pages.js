// The pages that email links open. The token is read from the link, removed
// from the address bar, and only ever sent to the API in a POST body, and
// only when the person clicks: merely opening a link (as mail scanners do,
// some running scripts) spends nothing.
(function () {
  "use strict";
  var api = "/api/auth";
  var params = new URLSearchParams(window.location.search);
  var token = params.get("token") || "";
  if (token) {
    history.replaceState(null, "", window.location.pathname);
  }
  var status = document.getElementById("status");

  function say(text, cls) {
    status.textContent = text;
    status.className = cls || "";
  }

  function post(path, body) {
    return fetch(api + path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "omit",
      referrerPolicy: "no-referrer"
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        return { ok: res.ok, data: data };
      });
    });
  }

  function problem(data) {
    if (data.fields) {
      return Object.keys(data.fields).map(function (k) { return data.fields[k].join(" "); }).join(" ");
    }
    return data.detail || "Something went wrong. Please try again.";
  }

  var page = document.body.getAttribute("data-page");
  if (!token) {
    say("This link is incomplete. Please open the link from your email again.", "error");
    return;
  }

  // Nothing is spent until the person chooses: a mail scanner that opens
  // the link, even one that runs scripts, clicks no button.
  if (page === "verify-email") {
    var choices = document.getElementById("choices");
    choices.hidden = false;
    var choose = function (path) {
      choices.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      post(path, { token: token }).then(function (r) {
        choices.hidden = r.ok;
        say(r.ok ? r.data.message : problem(r.data), r.ok ? "ok" : "error");
      }, function () { say("Could not reach the server. Please try again.", "error"); });
    };
    document.getElementById("confirm").addEventListener("click", function () { choose("/verify-email"); });
    document.getElementById("decline").addEventListener("click", function () { choose("/decline-registration"); });
  }

  if (page === "reset-password") {
    var form = document.getElementById("reset");
    form.hidden = false;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var pw = form.password.value;
      if (pw !== form.confirm.value) {
        say("The two passwords differ.", "error");
        return;
      }
      var button = form.querySelector("button");
      button.disabled = true;
      post("/reset-password", { token: token, password: pw }).then(function (r) {
        if (r.ok) {
          form.hidden = true;
          say(r.data.message + " You can now sign in with your new password.", "ok");
        } else {
          button.disabled = false;
          say(problem(r.data), "error");
        }
      }, function () {
        button.disabled = false;
        say("Could not reach the server. Please try again.", "error");
      });
    });
  }
})();

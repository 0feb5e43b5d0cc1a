// Live pages without a reload: every few seconds, fetch this same URL and swap in the new content of each
// element marked data-live (matched by id). Only on pages whose <body> has data-live-every (the server sets
// it when the range ends "now"). A static file, so a strict Content-Security-Policy allows it.
(function () {
  "use strict";
  var every = Number(document.body.getAttribute("data-live-every") || "0");
  if (!every || !window.fetch || !window.DOMParser) return;
  var status = document.getElementById("live-status");
  var busy = false;
  function say(text) { if (status) status.textContent = text; }
  function tick() {
    if (busy || document.hidden) return;
    busy = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Zerolag-Live": "1" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live]").forEach(function (element) {
          var next = fresh.getElementById(element.id);
          if (next && next.innerHTML !== element.innerHTML) element.innerHTML = next.innerHTML;
        });
        say("live · updated " + new Date().toLocaleTimeString());
      })
      .catch(function () { say("live · retrying"); })
      .then(function () { busy = false; });
  }
  say("live");
  window.setInterval(tick, every * 1000);
})();

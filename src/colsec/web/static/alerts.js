/* Live alert badge and inbox: one EventSource on /alerts/events (server-sent events). Loaded as a
   file (CSP: no inline scripts). The server sends a "badge" event whenever the count of alerts
   not yet acknowledged or the newest alert changes; an open inbox then reloads its list. */
(function () {
  "use strict";

  if (!window.EventSource) { return; }

  function format(n) {
    try { return new Intl.NumberFormat(document.documentElement.lang || undefined).format(n); }
    catch (e) { return String(n); }
  }

  function update(data) {
    document.querySelectorAll("[data-alert-badge]").forEach(function (badge) {
      badge.textContent = format(data.new);
      badge.classList.toggle("zero", data.new === 0);
    });
    var list = document.getElementById("alert-list");
    if (list && Number(list.dataset.lastId || 0) < data.last) {
      list.dataset.lastId = String(data.last);
      if (window.htmx) { window.htmx.trigger(list, "alerts-changed"); }
    }
  }

  function start() {
    var source = new EventSource("/alerts/events");
    source.addEventListener("badge", function (event) {
      try { update(JSON.parse(event.data)); } catch (e) { /* a malformed event changes nothing */ }
    });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  document.addEventListener("DOMContentLoaded", start);
})();

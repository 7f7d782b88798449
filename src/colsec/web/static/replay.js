/* Replay slider: steps through the recorded instants of a crisis (or of an exercise run's crises).
   Loaded as a file (CSP: no inline scripts).  Moving the slider shows the instant it points at and
   fills the minute field; letting go reloads the page at that instant (the server replays it). */
(function () {
  "use strict";

  function minute(iso) {
    var d = new Date(iso);
    return d.toISOString().slice(0, 16);
  }

  /* The instant as the server writes every date on the page ("5 Dec 2026, 10:00 UTC"), in the
     page's language. */
  function shown(iso) {
    var parts = {};
    new Intl.DateTimeFormat(document.documentElement.lang || "en", {
      day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
      hourCycle: "h23", timeZone: "UTC"
    }).formatToParts(new Date(iso)).forEach(function (p) { parts[p.type] = p.value; });
    return parts.day + " " + parts.month + " " + parts.year + ", " + parts.hour + ":" + parts.minute + " UTC";
  }

  function start() {
    var slider = document.getElementById("replay-slider");
    if (!slider) { return; }
    var instants = [];
    try { instants = JSON.parse(slider.dataset.instants || "[]"); } catch (e) { return; }
    var label = document.getElementById("replay-at");
    var field = document.getElementById("replay-minute");
    var form = document.getElementById("replay-form");

    function chosen() { return instants[Number(slider.value)]; }

    slider.addEventListener("input", function () {
      var iso = chosen();
      if (!iso) { return; }
      if (label) { label.textContent = shown(iso); }
      if (field) { field.value = minute(iso); }
    });
    slider.addEventListener("change", function () {
      var iso = chosen();
      if (!iso || !form) { return; }
      var url = new URL(form.action, window.location.href);
      url.searchParams.set("at", iso);
      window.location.assign(url.toString());
    });
  }

  document.addEventListener("DOMContentLoaded", start);
})();

/* colsec web UI behaviour. Loaded as a file (CSP: no inline scripts); no eval. */
(function () {
  "use strict";

  var PALETTE = ["#1f5fa8", "#d9534f", "#f0b44c", "#5cb85c", "#7d3c98", "#17a2b8", "#8c6d31", "#e377c2",
                 "#7f7f7f", "#bcbd22", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];

  function datasets(pairs, names) {
    return pairs.map(function (pair, i) {
      return { label: (names && names[pair[0]]) || pair[0], data: pair[1], backgroundColor: PALETTE[i % PALETTE.length] };
    });
  }

  function initChart(canvas) {
    if (!window.Chart || canvas.dataset.ready) { return; }
    canvas.dataset.ready = "1";
    var spec = JSON.parse(canvas.dataset.chart);
    var chart = new window.Chart(canvas, {
      type: "bar",
      data: { labels: spec.labels, datasets: datasets(spec.byType, spec.typeNames) },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: "bottom" } }
      }
    });
    document.querySelectorAll("[data-chart-mode]").forEach(function (btn) {
      btn.addEventListener("click", function () {
        var mode = btn.dataset.chartMode;
        chart.data.datasets = datasets(spec[mode], mode === "byType" ? spec.typeNames : null);
        chart.update();
        document.querySelectorAll("[data-chart-mode]").forEach(function (b) { b.classList.toggle("current", b === btn); });
      });
    });
  }

  function setChecks(name, value) {
    document.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (c) { c.checked = value; });
  }

  function init(root) {
    root.querySelectorAll("canvas[data-chart]").forEach(initChart);
    root.querySelectorAll("[data-check-all]").forEach(function (b) {
      b.addEventListener("click", function () { setChecks(b.dataset.checkAll, true); });
    });
    root.querySelectorAll("[data-check-none]").forEach(function (b) {
      b.addEventListener("click", function () { setChecks(b.dataset.checkNone, false); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
})();

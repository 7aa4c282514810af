// Kizuna's pages work without JavaScript; this file only draws charts from the JSON each page
// embeds next to a <canvas data-chart="…"> and adds small conveniences. Loaded with `defer`.
(function () {
  "use strict";
  // Okabe–Ito: readable with the common forms of colour blindness.
  var palette = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"];

  function draw(canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart"));
    if (!source || typeof Chart === "undefined") return;
    var spec = JSON.parse(source.textContent);
    var datasets = spec.datasets.map(function (d, i) {
      var colour = d.colour || palette[i % palette.length];
      var colours = d.colours || colour;
      return {
        label: d.label,
        data: d.data,
        type: d.type || undefined,
        backgroundColor: colours,
        borderColor: colours,
        borderWidth: spec.type === "line" || d.type === "line" ? 2 : 0,
        pointRadius: spec.sparkline ? 0 : 2,
        stepped: d.stepped || false,
        yAxisID: d.axis || "y",
        fill: false
      };
    });
    var percent = function (v) { return v + "%"; };
    var scales = {
      x: { display: !spec.sparkline, stacked: !!spec.stacked, grid: { display: false } },
      y: { display: !spec.sparkline, stacked: !!spec.stacked, beginAtZero: spec.beginAtZero !== false,
           ticks: spec.percent ? { callback: percent } : {} }
    };
    if (spec.y2) {
      scales.y2 = { position: "right", grid: { drawOnChartArea: false }, beginAtZero: true,
                    ticks: spec.y2 === "percent" ? { callback: percent } : {} };
    }
    new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { display: !spec.sparkline && datasets.length > 1 }, tooltip: { enabled: !spec.sparkline } },
        scales: scales
      }
    });
  }

  function ready() {
    Array.prototype.forEach.call(document.querySelectorAll("canvas[data-chart]"), draw);
    Array.prototype.forEach.call(document.querySelectorAll("[data-autosubmit]"), function (field) {
      field.addEventListener("change", function () { field.form.submit(); });
    });
    Array.prototype.forEach.call(document.querySelectorAll("form[data-confirm]"), function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (button) {
      button.addEventListener("click", function () {
        var target = document.getElementById(button.getAttribute("data-copy"));
        if (target && navigator.clipboard) navigator.clipboard.writeText(target.textContent);
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();

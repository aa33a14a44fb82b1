// Draws every <figure class="chart"> with uPlot from the JSON beside it (server-downsampled).
// Zoom: drag across; reset: double-click. Hover values show in the legend.
(function () {
  "use strict";
  var COLORS = ["#0b57d0", "#b42318", "#1a7f37", "#9a6700", "#6639ba", "#0e7490", "#c2410c", "#4b5563"];
  var DASHES = [[], [6, 3], [2, 2], [8, 3, 2, 3]];
  function draw(fig) {
    var id = fig.getAttribute("data-chart");
    var holder = document.getElementById(id);
    var source = document.getElementById(id + "-data");
    if (!holder || !source || typeof uPlot === "undefined") return;
    var chart = JSON.parse(source.textContent);
    var data = [chart.x];
    var series = [{ label: "step" }];
    chart.series.forEach(function (s, i) {
      data.push(s.y);
      // colour and dash both tell lines apart, so the chart reads without colour
      series.push({ label: s.label, stroke: COLORS[i % COLORS.length], dash: DASHES[i % DASHES.length],
                    width: 1.5, spanGaps: true, points: { show: chart.x.length < 60 } });
    });
    var width = Math.max(300, holder.clientWidth || 460);
    var plot = new uPlot({ width: width, height: 220, series: series, scales: { x: { time: false } },
                           cursor: { drag: { x: true, y: false } } }, data, holder);
    holder.setAttribute("data-drawn", "true");
    holder.setAttribute("role", "img");
    holder.setAttribute("aria-label", chart.name + ": " + chart.points + " points");
    return plot;
  }
  function drawAll() {
    var figs = document.querySelectorAll("figure.chart");
    for (var i = 0; i < figs.length; i++) draw(figs[i]);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", drawAll);
  else drawAll();
})();

// The plan dashboard's trend charts (Chart.js from /static/vendor): each indicator's value by
// year against its target, from the JSON block the server wrote. Each card's table under
// "Figures by year" carries the same numbers, and the canvas's label says them in words.
(function () {
  'use strict';
  var source = document.getElementById('plan-data');
  if (!source || !window.Chart || !window.RegistryMoney) return;
  var data = JSON.parse(source.textContent);
  var money = window.RegistryMoney;
  var charts = [];

  function text(item, v) {
    if (v === null || v === undefined) return '—';
    if (item.money) { var l = money.large(v, data.ladder); return l.value + ' ' + data.units[l.unit]; }
    return String(Math.round(v * 100) / 100) + item.unit;
  }

  function draw(item) {
    var canvas = document.getElementById('plan-chart-' + item.key);
    if (!canvas || item.empty) return;
    var valueAxis = { beginAtZero: true, ticks: { maxTicksLimit: 5 } };
    if (item.money) valueAxis.ticks.callback = money.axis(data.ladder, data.units);
    charts.push(new window.Chart(canvas, {
      type: 'line',
      data: {
        labels: item.labels,
        datasets: [
          { label: data.valueLabel, data: item.values, borderColor: '#0b5cad', backgroundColor: '#0b5cad', pointRadius: 3, spanGaps: true, tension: 0 },
          { label: data.targetLabel, data: item.targets, borderColor: '#c8102e', backgroundColor: '#c8102e', borderDash: [5, 4], pointRadius: 0, stepped: 'middle', spanGaps: true },
        ],
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        // Sharp on paper too (printers resolve far more than a screen's pixel).
        devicePixelRatio: Math.max(window.devicePixelRatio || 1, 2),
        scales: { y: valueAxis, x: { ticks: { autoSkip: true, maxRotation: 0 } } },
        plugins: {
          legend: { display: true, position: 'bottom', labels: { boxWidth: 14, boxHeight: 2 } },
          tooltip: { callbacks: { label: function (c) { return c.dataset.label + ': ' + text(item, c.raw); } } },
        },
      },
    }));
  }

  window.addEventListener('load', function () {
    data.items.forEach(draw);
  });
  // On paper three cards share an A4 line (plan.css): before printing, draw each chart at a
  // size of that shape (a little larger, so its text prints small), which the print style
  // scales in proportion to the card; afterwards at the screen's size again.
  var PRINT_SIZE = [300, 150];
  window.addEventListener('beforeprint', function () { charts.forEach(function (c) { c.resize(PRINT_SIZE[0], PRINT_SIZE[1]); }); });
  window.addEventListener('afterprint', function () { charts.forEach(function (c) { c.resize(); }); });
})();

// The statistics page's charts (Chart.js from /static/vendor), drawn from the JSON block the
// server wrote: integer fen per category. The tables below them carry the same figures.
(function () {
  'use strict';
  var source = document.getElementById('stats-data');
  if (!source || !window.Chart || !window.RegistryMoney) return;
  var data = JSON.parse(source.textContent);
  var money = window.RegistryMoney;
  var COLOURS = ['#0b5cad', '#c8102e', '#1d7a3a', '#d08c00', '#6b3fa0', '#00838f', '#8d6e63', '#5f6b7a', '#ad1457', '#2e7d32', '#283593', '#ef6c00'];

  function exact(f) {
    return ' ¥' + money.group(money.yuan(f));
  }

  function draw(name, kind, horizontal) {
    var canvas = document.getElementById('stats-chart-' + name);
    var series = data.charts[name];
    if (!canvas || !series || series.empty) return;
    var valueAxis = {};
    // Ticks read in 万元/亿元; tooltips give the exact amount; both from the integer fen.
    valueAxis[horizontal ? 'x' : 'y'] = { beginAtZero: true, ticks: { callback: money.axis(data.ladder, data.units) } };
    new window.Chart(canvas, {
      type: kind,
      data: { labels: series.labels, datasets: [{ label: data.amount, data: series.values, backgroundColor: kind === 'doughnut' ? COLOURS : '#0b5cad' }] },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false, indexAxis: horizontal ? 'y' : 'x',
        scales: kind === 'doughnut' ? {} : valueAxis,
        plugins: {
          legend: { display: kind === 'doughnut', position: 'bottom' },
          tooltip: { callbacks: { label: function (c) { return exact(Number(c.raw)); } } },
        },
      },
    });
  }

  window.addEventListener('load', function () {
    draw('month', 'bar', false);
    draw('type', 'doughnut', false);
    draw('field', 'bar', true);
  });
})();

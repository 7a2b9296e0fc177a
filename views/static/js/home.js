// The live homepage: figures and charts follow the turnover stream (Server-Sent Events).
// Without JavaScript the page still shows every figure, with tables instead of charts.
(function () {
  'use strict';
  var root = document.querySelector('[data-turnover]');
  if (!root) return;
  var labels = JSON.parse(document.getElementById('home-labels').textContent);
  var year = Number(root.getAttribute('data-year'));
  var charts = {};

  function group(amount) {
    var parts = String(amount).split('.');
    return parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ',') + '.' + (parts[1] || '00');
  }
  function fen(amount) {
    var parts = String(amount).split('.');
    return Number(parts[0]) * 100 + Number((parts[1] || '0').padEnd(2, '0'));
  }
  // Integer fen to "1250000.00" without floating point (money never goes through a float).
  function yuan(f) {
    return Math.floor(f / 100) + '.' + String(f % 100).padStart(2, '0');
  }
  function setField(name, value) {
    document.querySelectorAll('[data-field="' + name + '"]').forEach(function (el) { el.textContent = value; });
  }

  function update(p) {
    setField('contractAmount', group(p.contractAmount));
    setField('technicalAmount', group(p.technicalAmount));
    setField('contracts', String(p.contracts));
    setField('progress', (p.progress * 100).toFixed(2));
    if (p.updatedAt) setField('updatedAt', p.updatedAt.replace('T', ' ').slice(0, 19));
    var bar = document.querySelector('[data-bar="progress"]');
    if (bar) bar.value = Math.min(100, p.progress * 100);
    var elapsed = Number(document.querySelector('[data-bar="elapsed"]').value) / 100;
    if (elapsed > 0.02) setField('projection', group(yuan(Math.round(fen(p.contractAmount) / elapsed))));
    drawCharts(p);
    fillTables(p);
  }

  // The tables under the charts follow too (they are what screen readers and no-JS see).
  function rows(tbody, list) {
    while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
    list.forEach(function (cells) {
      var tr = document.createElement('tr');
      cells.forEach(function (c, i) {
        var td = document.createElement('td');
        if (i > 0) td.className = 'num';
        td.textContent = c;
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
  }
  function fillTables(p) {
    var t = document.querySelector('[data-table="month"] tbody');
    if (t) rows(t, p.byMonth.map(function (m) { return [String(Number(m.month)), String(m.contracts), m.contractAmount]; }));
    [['type', p.byType, labels.types], ['field', p.byField, labels.fields]].forEach(function (spec) {
      var body = document.querySelector('[data-table="' + spec[0] + '"] tbody');
      if (body) rows(body, Object.keys(spec[1]).map(function (k) { return [spec[2][k] || k, String(spec[1][k].contracts), spec[1][k].contractAmount]; }));
    });
  }

  function series(record, names) {
    var keys = Object.keys(record);
    return { labels: keys.map(function (k) { return names[k] || k; }), values: keys.map(function (k) { return fen(record[k].contractAmount); }) };
  }

  function drawCharts(p) {
    if (!window.Chart) return;
    var month = { labels: p.byMonth.map(function (m) { return Number(m.month) + labels.months; }), values: p.byMonth.map(function (m) { return fen(m.contractAmount); }) };
    var sets = { 'chart-month': ['bar', month], 'chart-type': ['doughnut', series(p.byType, labels.types)], 'chart-field': ['bar', series(p.byField, labels.fields)] };
    Object.keys(sets).forEach(function (id) {
      var kind = sets[id][0];
      var data = sets[id][1];
      if (charts[id]) {
        charts[id].data.labels = data.labels;
        charts[id].data.datasets[0].data = data.values;
        charts[id].update();
        return;
      }
      var canvas = document.getElementById(id);
      if (!canvas) return;
      charts[id] = new window.Chart(canvas, {
        type: kind,
        data: { labels: data.labels, datasets: [{ label: labels.amount, data: data.values, backgroundColor: kind === 'doughnut' ? ['#0b5cad', '#c8102e', '#1d7a3a', '#d08c00', '#6b3fa0'] : '#0b5cad' }] },
        options: {
          responsive: true, maintainAspectRatio: false, animation: false, indexAxis: id === 'chart-field' ? 'y' : 'x',
          // The data are integer fen; ticks and tooltips show yuan, formatted from the integers.
          scales: kind === 'doughnut' ? {} : (function () { var axis = {}; axis[id === 'chart-field' ? 'x' : 'y'] = { ticks: { callback: function (v) { return group(yuan(Number(v))); } } }; return axis; })(),
          plugins: { legend: { display: kind === 'doughnut' }, tooltip: { callbacks: { label: function (c) { return ' ' + group(yuan(Number(c.raw))); } } } },
        },
      });
    });
  }

  var status = document.querySelector('[data-live-status]');
  function connect() {
    if (!window.EventSource) return;
    var source = new EventSource('/api/v1/public/turnover/stream?year=' + year);
    source.addEventListener('turnover', function (e) {
      try { update(JSON.parse(e.data)); } catch (err) { /* ignore a bad message */ }
    });
    source.onopen = function () { if (status) { status.textContent = labels.liveOn; root.setAttribute('data-live', 'on'); } };
    source.onerror = function () { if (status) { status.textContent = labels.liveOff; root.setAttribute('data-live', 'off'); } };
  }
  window.addEventListener('load', function () {
    connect();
  });
})();

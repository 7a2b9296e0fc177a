// The live homepage: figures and charts follow the turnover stream (Server-Sent Events).
// Without JavaScript the page still shows every figure, with tables instead of charts.
(function () {
  'use strict';
  var root = document.querySelector('[data-turnover]');
  if (!root) return;
  var labels = JSON.parse(document.getElementById('home-labels').textContent);
  var year = Number(root.getAttribute('data-year'));
  var charts = {};

  var money = window.RegistryMoney;
  var group = money.group;
  var fen = money.fen;
  var yuan = money.yuan;
  function setField(name, value) {
    document.querySelectorAll('[data-field="' + name + '"]').forEach(function (el) { el.textContent = value; });
  }

  function setLarge(prefix, f) {
    var l = money.large(f, labels.ladder);
    setField(prefix + 'Large', l.value);
    setField(prefix + 'Unit', labels.units[l.unit]);
    // In yuan the figure is the exact amount already.
    show('[data-exact="' + prefix + '"]', l.unit !== 'yuan');
  }
  function show(selector, visible) {
    document.querySelectorAll(selector).forEach(function (el) { el.hidden = !visible; });
  }

  function update(p) {
    setField('contractAmount', group(p.contractAmount));
    setField('technicalAmount', group(p.technicalAmount));
    setLarge('contract', fen(p.contractAmount));
    setLarge('technical', fen(p.technicalAmount));
    setField('contracts', String(p.contracts));
    setField('progress', (p.progress * 100).toFixed(2));
    if (p.updatedAt) {
      setField('updatedAt', p.updatedAt.replace('T', ' ').slice(0, 19));
      show('[data-updated]', true);
      show('[data-no-registrations]', false);
    }
    var bar = document.querySelector('[data-bar="progress"]');
    if (bar) bar.value = Math.min(100, p.progress * 100);
    var elapsed = Number(document.querySelector('[data-bar="elapsed"]').value) / 100;
    if (elapsed > 0.02) {
      // Integer fen over a plain ratio, rounded back to whole fen: an estimate, not an amount.
      var projected = Math.round(fen(p.contractAmount) / elapsed);
      setField('projection', group(yuan(projected)));
      setLarge('projection', projected);
      show('[data-projection]', true);
      show('[data-no-projection]', false);
    }
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
    if (t) rows(t, p.byMonth.map(function (m) { return [String(Number(m.month)), String(m.contracts), group(m.contractAmount)]; }));
    [['type', p.byType, labels.types], ['field', p.byField, labels.fields]].forEach(function (spec) {
      var body = document.querySelector('[data-table="' + spec[0] + '"] tbody');
      if (body) rows(body, Object.keys(spec[1]).map(function (k) { return [spec[2][k] || k, String(spec[1][k].contracts), group(spec[1][k].contractAmount)]; }));
    });
  }

  function series(record, names) {
    var keys = Object.keys(record);
    return { labels: keys.map(function (k) { return names[k] || k; }), values: keys.map(function (k) { return fen(record[k].contractAmount); }) };
  }

  // A chart with nothing to draw says so ("暂无数据") instead of showing empty axes.
  function setEmpty(name, empty) {
    var box = document.querySelector('[data-chart="' + name + '"]');
    if (!box) return;
    box.querySelector('canvas').hidden = empty;
    box.querySelector('[data-empty]').hidden = !empty;
    show('[data-table-box="' + name + '"]', !empty);
  }

  function drawCharts(p) {
    var month = { labels: p.byMonth.map(function (m) { return Number(m.month) + labels.months; }), values: p.byMonth.map(function (m) { return fen(m.contractAmount); }) };
    var sets = { month: ['bar', month], type: ['doughnut', series(p.byType, labels.types)], field: ['bar', series(p.byField, labels.fields)] };
    Object.keys(sets).forEach(function (name) {
      var id = 'chart-' + name;
      var kind = sets[name][0];
      var data = sets[name][1];
      var empty = !data.values.some(function (v) { return v !== 0; });
      setEmpty(name, empty);
      if (empty) {
        if (charts[id]) { charts[id].destroy(); delete charts[id]; }
        return;
      }
      if (!window.Chart) return;
      if (charts[id]) {
        charts[id].data.labels = data.labels;
        charts[id].data.datasets[0].data = data.values;
        charts[id].update();
        return;
      }
      var canvas = document.getElementById(id);
      if (!canvas) return;
      var horizontal = name === 'field';
      var valueAxis = {};
      // The data are integer fen; ticks read in 万元/亿元, tooltips in exact yuan, both from the integers.
      valueAxis[horizontal ? 'x' : 'y'] = { beginAtZero: true, ticks: { callback: money.axis(labels.ladder, labels.units) } };
      charts[id] = new window.Chart(canvas, {
        type: kind,
        data: { labels: data.labels, datasets: [{ label: labels.amount, data: data.values, backgroundColor: kind === 'doughnut' ? ['#0b5cad', '#c8102e', '#1d7a3a', '#d08c00', '#6b3fa0'] : '#0b5cad' }] },
        options: {
          responsive: true, maintainAspectRatio: false, animation: false, indexAxis: horizontal ? 'y' : 'x',
          scales: kind === 'doughnut' ? {} : valueAxis,
          plugins: { legend: { display: kind === 'doughnut' }, tooltip: { callbacks: { label: function (c) { return ' ¥' + group(yuan(Number(c.raw))); } } } },
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

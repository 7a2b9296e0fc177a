// An import's page (views/admin/imports-show.ejs) follows the import while it runs: it asks
// GET /api/v1/imports/{id} every second and moves the progress bar and the counts. The page
// shows the same figures without JavaScript (with a reload link); once the import is over it
// reloads itself once, to show the final state and the rejected rows from the server.
(function () {
  'use strict';
  var panel = document.getElementById('import-progress');
  var source = document.getElementById('import-labels');
  if (!panel || !source || !window.fetch) return;
  var labels = JSON.parse(source.textContent);
  var id = panel.getAttribute('data-import-id');
  var field = function (name) { return document.querySelector('[data-import="' + name + '"]'); };
  var auto = field('auto');
  if (auto) auto.hidden = false;

  function num(v) { return v === null || v === undefined ? '—' : Number(v).toLocaleString('en-US'); }

  function setText(name, value) {
    var el = field(name);
    if (el && el.textContent !== String(value)) el.textContent = String(value);
  }

  function show(s) {
    var bar = field('bar');
    if (bar) {
      if (s.total !== null) {
        bar.max = Math.max(s.total, 1);
        bar.value = s.status === 'done' ? bar.max : Math.min(s.processed, bar.max);
        bar.textContent = s.percent + '%';
      } else if (bar.hasAttribute('value')) {
        bar.removeAttribute('value'); // still counting: an indeterminate bar
      }
    }
    setText('total', num(s.total));
    ['processed', 'imported', 'skipped', 'rejected'].forEach(function (k) { setText(k, num(s[k])); });
    setText('text', s.total !== null
      ? labels.progressText.replace('{processed}', num(s.processed)).replace('{total}', num(s.total)).replace('{percent}', s.percent)
      : (s.phase === 'counting' ? labels.counting : labels.waiting));
    var badge = field('status');
    if (badge) {
      setText('status', labels.state[s.status] || s.status);
      badge.className = 'badge badge-large badge-' + (labels.badge[s.status] || 'pending');
    }
  }

  // One request at a time: the next a second after the answer, so a slow server is not piled on.
  function poll() {
    fetch('/api/v1/imports/' + encodeURIComponent(id), { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (s) {
        if (s) show(s);
        if (s && (s.status === 'done' || s.status === 'failed')) window.setTimeout(function () { window.location.reload(); }, 800);
        else window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 1000); });
  }
  window.setTimeout(poll, 1000);
})();

// Province → city → district choices without a page reload. The form works without this
// script too: its "update choices" button re-shows the form with the next level's options.
(function () {
  'use strict';
  document.querySelectorAll('[data-region-picker]').forEach(function (picker) {
    var selects = {
      province: picker.querySelector('[data-level="province"]'),
      city: picker.querySelector('[data-level="city"]'),
      district: picker.querySelector('[data-level="district"]'),
    };
    var refresh = picker.querySelector('[data-region-refresh]');
    if (refresh) refresh.hidden = true;

    function fill(select, parent) {
      var placeholder = select.options[0];
      select.length = 1;
      select.value = '';
      placeholder.selected = true;
      if (!parent) return Promise.resolve();
      return fetch('/api/v1/regions?parent=' + encodeURIComponent(parent), { headers: { Accept: 'application/json' } })
        .then(function (res) { return res.ok ? res.json() : { items: [] }; })
        .then(function (data) {
          data.items.forEach(function (r) {
            var opt = document.createElement('option');
            opt.value = r.code;
            opt.textContent = document.documentElement.lang === 'en' && r.nameEn ? r.nameEn : r.name;
            select.appendChild(opt);
          });
        });
    }

    selects.province.addEventListener('change', function () {
      fill(selects.district, null);
      fill(selects.city, selects.province.value);
    });
    selects.city.addEventListener('change', function () {
      fill(selects.district, selects.city.value);
    });
  });
})();

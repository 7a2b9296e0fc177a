// Money in the browser as on the server (src/domain/money.ts): amounts arrive as decimal
// strings in yuan ("1250000.50"), become integer fen, and are written back from integers.
// No amount ever passes through a binary fraction.
(function () {
  'use strict';
  var UNIT_YUAN = { yuan: 1, wan: 10000, yi: 100000000, million: 1000000, billion: 1000000000 };
  var LADDERS = { cn: ['yuan', 'wan', 'yi'], en: ['yuan', 'million', 'billion'] };

  function groupDigits(digits) {
    return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  }
  // "1250000.5" → 125000050 (integer fen).
  function fen(amount) {
    var text = String(amount);
    var negative = text.charAt(0) === '-';
    var parts = text.replace(/^-/, '').split('.');
    var f = Number(parts[0]) * 100 + Number((parts[1] || '0').padEnd(2, '0').slice(0, 2));
    return negative ? -f : f;
  }
  // 125000050 → "1250000.50".
  function yuan(f) {
    var abs = Math.abs(f);
    return (f < 0 ? '-' : '') + Math.floor(abs / 100) + '.' + String(abs % 100).padStart(2, '0');
  }
  // "1250000.5" → "1,250,000.50".
  function group(amount) {
    var text = String(amount);
    var negative = text.charAt(0) === '-';
    var parts = text.replace(/^-/, '').split('.');
    return (negative ? '-' : '') + groupDigits(parts[0]) + '.' + (parts[1] || '').padEnd(2, '0');
  }
  // Integer fen in a unit, two decimals, half up: a hundredth of a unit of u yuan is u fen.
  function inUnit(f, unit) {
    var step = UNIT_YUAN[unit];
    var abs = Math.abs(f);
    var rest = abs % step;
    var hundredths = (abs - rest) / step + (rest * 2 >= step ? 1 : 0);
    return (f < 0 && hundredths > 0 ? '-' : '') + groupDigits(String(Math.floor(hundredths / 100))) + '.' + String(hundredths % 100).padStart(2, '0');
  }
  // The largest unit the amount reaches (moving up when rounding carries it there).
  function large(f, ladderName) {
    var ladder = LADDERS[ladderName] || LADDERS.cn;
    var abs = Math.abs(f);
    var i = 0;
    while (i + 1 < ladder.length && abs >= UNIT_YUAN[ladder[i + 1]] * 100) i++;
    var value = inUnit(f, ladder[i]);
    var next = ladder[i + 1];
    if (next && Number(value.replace(/^-/, '').split('.')[0].replace(/,/g, '')) >= UNIT_YUAN[next] / UNIT_YUAN[ladder[i]]) {
      i++;
      value = inUnit(f, ladder[i]);
    }
    return { value: value, unit: ladder[i] };
  }

  // A Chart.js tick callback for an axis of integer fen: one unit for the whole axis (that of
  // its largest tick), no trailing zeros: "0", "0.2 亿元", "1.4 亿元".
  function axis(ladderName, unitNames) {
    return function (value, index, ticks) {
      var max = 0;
      ticks.forEach(function (t) { max = Math.max(max, Math.abs(Math.round(Number(t.value)))); });
      var unit = large(max, ladderName).unit;
      var text = inUnit(Math.round(Number(value)), unit).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
      return text === '0' ? '0' : text + ' ' + unitNames[unit];
    };
  }

  window.RegistryMoney = { fen: fen, yuan: yuan, group: group, inUnit: inUnit, large: large, axis: axis };
})();

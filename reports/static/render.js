/* Draw every chart from its JSON block.  plotly.min.js is loaded once from ../assets (offline). */
(function () {
  var blocks = document.querySelectorAll('script[type="application/json"][data-chart]');
  var baseEl = document.getElementById('chart-base');
  var base = baseEl ? JSON.parse(baseEl.textContent) : {};
  function merge(a, b) {
    var out = {}, k;
    for (k in a) { if (Object.prototype.hasOwnProperty.call(a, k)) { out[k] = a[k]; } }
    for (k in b) {
      if (!Object.prototype.hasOwnProperty.call(b, k)) { continue; }
      var isObj = b[k] && typeof b[k] === 'object' && !Array.isArray(b[k]);
      var aObj = out[k] && typeof out[k] === 'object' && !Array.isArray(out[k]);
      out[k] = (isObj && aObj) ? merge(out[k], b[k]) : b[k];
    }
    return out;
  }
  var config = {displayModeBar: false, responsive: true, staticPlot: false};
  for (var i = 0; i < blocks.length; i++) {
    var el = document.getElementById(blocks[i].getAttribute('data-chart'));
    if (!el) { continue; }
    if (typeof Plotly === 'undefined') {
      el.textContent = 'The chart could not be drawn. Use the table below it.';
      continue;
    }
    var fig = JSON.parse(blocks[i].textContent);
    Plotly.newPlot(el, fig.data, merge(base, fig.layout), config);
  }
  /* open the table alternatives when printing (the PDF carries the tables too) */
  window.addEventListener('beforeprint', function () {
    var d = document.querySelectorAll('details');
    for (var j = 0; j < d.length; j++) { d[j].setAttribute('open', ''); }
  });
})();

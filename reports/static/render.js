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
    var layout = merge(base, fig.layout);
    /* a phone: category labels along the x axis turn upright rather than overlap */
    if (el.clientWidth < 600 && layout.xaxis && layout.xaxis.type === 'category') {
      layout.xaxis = merge(layout.xaxis, {tickangle: -90, automargin: true, tickfont: {size: 11}});
      if (layout.showlegend) {   /* the legend goes below the upright labels, not over them */
        layout.legend = merge(layout.legend || {}, {yref: 'container', y: 0, yanchor: 'bottom'});
        layout.margin = merge(layout.margin || {}, {b: 180});
        layout.height = (layout.height || 360) + 100;
      }
    }
    Plotly.newPlot(el, fig.data, layout, config);
  }
  /* open the table alternatives when printing (the PDF carries the tables too) */
  window.addEventListener('beforeprint', function () {
    var d = document.querySelectorAll('details');
    for (var j = 0; j < d.length; j++) { d[j].setAttribute('open', ''); }
  });
})();

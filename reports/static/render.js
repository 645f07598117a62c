/* Draw every chart from its JSON block.  plotly.min.js is loaded once from ../assets (offline). */
(function () {
  var blocks = document.querySelectorAll('script[type="application/json"][data-chart]');
  var config = {displayModeBar: false, responsive: true, staticPlot: false};
  for (var i = 0; i < blocks.length; i++) {
    var el = document.getElementById(blocks[i].getAttribute('data-chart'));
    if (!el) { continue; }
    if (typeof Plotly === 'undefined') {
      el.textContent = 'The chart could not be drawn. Use the table below it.';
      continue;
    }
    var fig = JSON.parse(blocks[i].textContent);
    Plotly.newPlot(el, fig.data, fig.layout, config);
  }
  /* open the table alternatives when printing (the PDF carries the tables too) */
  window.addEventListener('beforeprint', function () {
    var d = document.querySelectorAll('details');
    for (var j = 0; j < d.length; j++) { d[j].setAttribute('open', ''); }
  });
})();

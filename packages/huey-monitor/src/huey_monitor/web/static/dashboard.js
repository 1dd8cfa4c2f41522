// huey monitor: refresh the live part of the page and the chart without a reload.
(function () {
  'use strict';
  var REFRESH_MS = 5000;
  var state = document.getElementById('refresh-state');
  var chartBox = document.getElementById('chart');
  var chart = null;
  var noPoints = { show: false };

  function seriesToData(series) {
    return [series.minute, series.complete, series.error, series.enqueued];
  }

  function drawChart(series) {
    if (!chartBox || typeof uPlot === 'undefined') { return; }
    var data = seriesToData(series);
    if (chart) { chart.setData(data); return; }
    chart = new uPlot({
      width: chartBox.clientWidth || 800,
      height: 240,
      series: [
        { value: '{HH}:{mm}' },
        { label: 'complete', stroke: '#1f9d55', width: 2, fill: 'rgba(31,157,85,0.08)', points: noPoints },
        { label: 'error', stroke: '#d64545', width: 2, points: noPoints },
        { label: 'enqueued', stroke: '#2f6fde', width: 1, dash: [4, 4], points: noPoints }
      ],
      axes: [{}, { label: 'per minute' }],
      scales: { y: { range: function (u, min, max) { return [0, Math.max(5, max)]; } } }
    }, data, chartBox);
    window.addEventListener('resize', function () {
      chart.setSize({ width: chartBox.clientWidth, height: 240 });
    });
  }

  function loadSeries() {
    if (!chartBox) { return Promise.resolve(); }
    return fetch(chartBox.dataset.series, { credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(drawChart);
  }

  function refreshLive() {
    var live = document.getElementById('live');
    if (!live || live.contains(document.activeElement) && document.activeElement.tagName === 'INPUT') {
      return Promise.resolve();
    }
    return fetch(window.location.href, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, 'text/html');
        var fresh = doc.getElementById('live');
        if (fresh) { live.innerHTML = fresh.innerHTML; }
      });
  }

  function tick() {
    Promise.all([refreshLive(), loadSeries()]).then(function () {
      state.textContent = 'live · ' + new Date().toLocaleTimeString();
      state.classList.remove('stale');
      document.body.dataset.refreshed = String(Date.now());
    }).catch(function (err) {
      state.textContent = 'refresh failed (' + err.message + '), retrying';
      state.classList.add('stale');
    });
  }

  loadSeries().catch(function () {});
  setInterval(tick, REFRESH_MS);
}());

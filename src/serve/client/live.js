/*
 * The dashboard's live half. The runs list polls /api/runs and re-renders its table (sortable,
 * runs ticked for comparison survive the refresh); a run page subscribes to the server's event
 * stream (Server-Sent Events) and, on every view it receives, updates the status line and redraws
 * the charts with window.vggkit.update (client/charts.js in src/report). When the run's results
 * files change (written at its end, or by vggkit evaluate), the results section is fetched again.
 * No reloads.
 */
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('vk-page').textContent);

  function text(sel, value) {
    var node = document.querySelector(sel);
    if (node) node.textContent = value;
    return node;
  }

  function duration(seconds) {
    if (seconds === undefined || seconds === null || !isFinite(seconds)) return '';
    var s = Math.round(seconds);
    var h = Math.floor(s / 3600);
    var m = Math.floor((s % 3600) / 60);
    if (h > 0) return h + ' h ' + m + ' min';
    if (m > 0) return m + ' min ' + (s % 60) + ' s';
    return s + ' s';
  }

  function when(ms) {
    if (!ms) return '';
    var d = new Date(ms);
    return d.toLocaleDateString() + ' ' + d.toLocaleTimeString();
  }

  function num(v, digits) {
    return typeof v === 'number' ? String(Number(v.toPrecision(digits || 4))) : '–';
  }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  function runHref(path) {
    return '/run/' + path.split('/').map(encodeURIComponent).join('/');
  }

  // ---- the runs list -------------------------------------------------------------------------
  function runsPage() {
    var sortKey = 'startedAt';
    var descending = true;
    var selected = new Set();
    var latest = { runs: [], sweeps: [] };
    var button = document.getElementById('compare');

    function statusText(r) {
      return r.status === 'stopped' && r.stoppedBy ? 'stopped by ' + r.stoppedBy : r.status;
    }

    function render() {
      var runs = latest.runs.slice().sort(function (a, b) {
        var x = a[sortKey];
        var y = b[sortKey];
        if (x === undefined && y === undefined) return 0;
        if (x === undefined) return 1;
        if (y === undefined) return -1;
        var c = typeof x === 'number' ? x - y : String(x).localeCompare(String(y));
        return descending ? -c : c;
      });
      var body = document.querySelector('#runs tbody');
      body.innerHTML = runs.length
        ? runs
            .map(function (r) {
              var problems = r.problems.length
                ? ' <span class="badge crashed" title="' +
                  escapeHtml(r.problems.join('; ')) +
                  '">!</span>'
                : '';
              return (
                '<tr data-path="' +
                escapeHtml(r.path) +
                '">' +
                '<td><input type="checkbox" aria-label="select ' +
                escapeHtml(r.name) +
                '"' +
                (selected.has(r.path) ? ' checked' : '') +
                '></td>' +
                '<td><a href="' +
                runHref(r.path) +
                '">' +
                escapeHtml(r.name) +
                '</a>' +
                problems +
                '</td>' +
                '<td><span class="badge ' +
                r.status +
                '">' +
                escapeHtml(statusText(r)) +
                '</span></td>' +
                '<td>' +
                when(r.startedAt) +
                '</td>' +
                '<td class="num">' +
                r.epochsDone +
                (r.epochsTotal ? ' / ' + r.epochsTotal : '') +
                '</td>' +
                '<td class="num">' +
                num(r.bestValLoss) +
                '</td>' +
                '<td class="num">' +
                num(r.bestValAccuracy) +
                '</td>' +
                '<td>' +
                escapeHtml(r.weights || '') +
                '</td>' +
                '<td>' +
                escapeHtml(r.contract || '') +
                '</td>' +
                '<td class="num">' +
                duration(r.wallSeconds) +
                '</td></tr>'
              );
            })
            .join('')
        : '<tr><td colspan="10" class="muted">No run folders here yet: train with <code>vggkit train DATA --out ' +
          'RUNS/NAME</code>.</td></tr>';
      var sweeps = document.getElementById('sweeps');
      sweeps.className = latest.sweeps.length ? '' : 'muted';
      sweeps.innerHTML = latest.sweeps.length
        ? '<ul>' +
          latest.sweeps
            .map(function (s) {
              return (
                '<li><a href="/sweep/' +
                s.path.split('/').map(encodeURIComponent).join('/') +
                '">' +
                escapeHtml(s.name) +
                '</a> — ' +
                s.trials +
                ' trials</li>'
              );
            })
            .join('') +
          '</ul>'
        : 'No sweep folders.';
      button.disabled = selected.size < 2;
    }

    document.querySelector('#runs thead').addEventListener('click', function (e) {
      var key = e.target.getAttribute && e.target.getAttribute('data-sort');
      if (!key) return;
      descending = key === sortKey ? !descending : key !== 'name';
      sortKey = key;
      render();
    });
    document.querySelector('#runs tbody').addEventListener('change', function (e) {
      var row = e.target.closest('tr');
      if (!row) return;
      if (e.target.checked) selected.add(row.getAttribute('data-path'));
      else selected.delete(row.getAttribute('data-path'));
      button.disabled = selected.size < 2;
    });
    button.addEventListener('click', function () {
      var q = Array.from(selected)
        .map(function (p) {
          return 'run=' + encodeURIComponent(p);
        })
        .join('&');
      location.href = '/compare?' + q;
    });

    function refresh() {
      fetch('/api/runs')
        .then(function (r) {
          return r.json();
        })
        .then(function (listing) {
          latest = listing;
          render();
        })
        .catch(function () {})
        .then(function () {
          setTimeout(refresh, 2000);
        });
    }
    refresh();
  }

  // ---- a run ---------------------------------------------------------------------------------
  function runPage() {
    var lastOutputs = data.view.outputs;

    function apply(view) {
      var status = text(
        '[data-live="status"]',
        view.status === 'stopped' && view.stoppedBy ? 'stopped by ' + view.stoppedBy : view.status,
      );
      if (status) status.className = 'badge ' + view.status;
      text('[data-live="epochs"]', String(view.epochsDone));
      var p = view.position;
      text(
        '[data-live="position"]',
        p ? 'epoch ' + (p.epoch + 1) + ', batch ' + p.batch + ' of ' + p.batches : '',
      );
      text(
        '[data-live="eta"]',
        view.etaSeconds !== undefined ? 'about ' + duration(view.etaSeconds) + ' left' : '',
      );
      text(
        '[data-live="speed"]',
        view.status === 'running' && view.imagesPerSecond
          ? num(view.imagesPerSecond, 3) + ' img/s'
          : '',
      );
      text('[data-live="updated"]', view.updatedAt ? 'last event ' + when(view.updatedAt) : '');
      var problems = document.querySelector('[data-live="problems"]');
      if (view.problems.length) {
        if (!problems) {
          problems = document.createElement('p');
          problems.className = 'problem';
          problems.setAttribute('data-live', 'problems');
          document.querySelector('.live').after(problems);
        }
        problems.innerHTML = view.problems.map(escapeHtml).join('<br>');
      } else if (problems) problems.remove();
      var grid = document.querySelector('.vk-charts');
      view.charts.forEach(function (spec) {
        if (!window.vggkit.update(spec)) {
          var figure = document.createElement('figure');
          figure.className = 'vk-chart';
          figure.setAttribute('data-chart-id', spec.id.replace(/[^\w-]/g, '_'));
          grid.appendChild(figure);
          window.vggkit.render(figure, spec);
        }
      });
      if (view.outputs !== lastOutputs) refreshOutputs();
      lastOutputs = view.outputs;
      document.body.setAttribute('data-status', view.status);
    }

    function refreshOutputs() {
      fetch(data.outputs)
        .then(function (r) {
          return r.text();
        })
        .then(function (html) {
          document.getElementById('outputs').innerHTML = html;
        })
        .catch(function () {});
    }

    var source = new EventSource(data.events);
    source.addEventListener('view', function (e) {
      apply(JSON.parse(e.data));
    });
    apply(data.view);
  }

  if (data.page === 'runs') runsPage();
  if (data.page === 'run') runPage();
})();

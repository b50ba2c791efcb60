/*
 * vggkit's chart renderer, the browser half of the report components (src/report/chart-spec.ts
 * documents the model). It draws every <figure class="vk-chart"> placeholder from the ChartSpec
 * JSON inside it, with uPlot (inlined before this script), and exposes
 *   window.vggkit.update(spec)  redraw the chart with spec.id in place (live pages)
 *   window.vggkit.charts        id -> { spec, plot } (the uPlot instance; tests read its data)
 * It runs the same in a static report opened from disk and on the dashboard; it loads nothing.
 */
(function () {
  'use strict';
  var charts = new Map();
  var HEIGHT = 260;

  function px(n) {
    return n * (window.devicePixelRatio || 1);
  }

  function widthOf(el) {
    var w = el.clientWidth || (el.parentElement && el.parentElement.clientWidth) || 640;
    return Math.max(280, Math.min(w, 1100));
  }

  function safeId(id) {
    return String(id).replace(/[^\w-]/g, '_');
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function alignedData(spec) {
    return [spec.x.slice()].concat(
      spec.series.map(function (s) {
        return s.values.slice();
      }),
    );
  }

  function drawHighlights(u, spec) {
    var ranges = spec.highlights || [];
    if (ranges.length === 0) return;
    var ctx = u.ctx;
    ctx.save();
    ctx.fillStyle = 'rgba(228, 87, 46, 0.15)';
    ranges.forEach(function (h) {
      var a = Math.max(u.bbox.left, u.valToPos(h.from, 'x', true));
      var b = Math.min(u.bbox.left + u.bbox.width, u.valToPos(h.to, 'x', true));
      if (b > a) ctx.fillRect(a, u.bbox.top, Math.max(px(2), b - a), u.bbox.height);
    });
    ctx.restore();
  }

  function drawMarkers(u, spec) {
    var marks = spec.markers || [];
    var ctx = u.ctx;
    ctx.save();
    ctx.font = px(11) + 'px system-ui, sans-serif';
    marks.forEach(function (m, i) {
      var x = u.valToPos(m.x, 'x', true);
      if (!(x >= u.bbox.left - 1 && x <= u.bbox.left + u.bbox.width + 1)) return;
      ctx.strokeStyle = m.color;
      ctx.lineWidth = px(1.5);
      ctx.setLineDash([px(4), px(3)]);
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
      ctx.fillStyle = m.color;
      // Labels step down one line per marker so neighbouring markers stay readable.
      // Near the right edge the label goes left of its line instead of off the chart.
      var w = ctx.measureText(m.label).width;
      var right = x + px(3) + w > u.bbox.left + u.bbox.width;
      ctx.fillText(m.label, right ? x - px(3) - w : x + px(3), u.bbox.top + px(12 + 13 * (i % 5)));
    });
    ctx.restore();
  }

  /** Tick labels that stay readable on a log axis: 1e-4, 2e-5, 0.5, 12. */
  function tick(v) {
    if (v === null || v === undefined) return '';
    if (v !== 0 && Math.abs(v) < 1e-3) return v.toExponential(0);
    return String(Number(v.toPrecision(4)));
  }

  function ticks(u, splits) {
    return splits.map(tick);
  }

  /**
   * uPlot's log range snaps to powers of 10 in floating point: 10 ** -4 computed as
   * 0.00009999999999999999 falls just outside [0.0001, …] and its point is neither drawn nor
   * counted in the other axis' range. The snapped range, widened to hold every value.
   */
  function logRange(u, min, max) {
    var r = window.uPlot.rangeLog(min, max, 10, true);
    return [Math.min(r[0], min), Math.max(r[1], max)];
  }

  function lineOptions(spec, width) {
    var x = { time: false };
    if (spec.xLog) {
      x.distr = 3;
      x.range = logRange;
    }
    var y = {};
    if (spec.yLog) {
      y.distr = 3;
      y.range = logRange;
    }
    if (spec.yRange) y.range = [spec.yRange[0], spec.yRange[1]];
    return {
      width: width,
      height: HEIGHT,
      scales: { x: x, y: y },
      legend: { live: true },
      cursor: { drag: { x: true, y: false } },
      series: [{ label: spec.xLabel }].concat(
        spec.series.map(function (s) {
          return {
            label: s.label,
            stroke: s.color,
            width: s.width || 2,
            dash: s.dashed ? [6, 4] : undefined,
            spanGaps: false,
            paths:
              s.line === false
                ? function () {
                    return null;
                  }
                : undefined,
            points: { show: !!s.points || s.line === false, size: 6, fill: s.color },
          };
        }),
      ),
      axes: [
        spec.xInteger
          ? {
              label: spec.xLabel,
              labelSize: 20,
              values: ticks,
              incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
            }
          : { label: spec.xLabel, labelSize: 20, values: ticks },
        { label: spec.yLabel || '', labelSize: 20, size: 56, values: ticks },
      ],
      hooks: {
        drawClear: [
          function (u) {
            drawHighlights(u, spec);
          },
        ],
        draw: [
          function (u) {
            drawMarkers(u, spec);
          },
        ],
      },
    };
  }

  function renderLine(body, spec) {
    if (spec.x.length === 0) {
      body.appendChild(el('p', 'vk-empty', 'No data yet.'));
      return undefined;
    }
    return new window.uPlot(lineOptions(spec, widthOf(body)), alignedData(spec), body);
  }

  /** Parallel coordinates on a canvas: one vertical axis per parameter, one polyline per trial. */
  function renderParallel(body, spec) {
    var width = widthOf(body);
    var height = HEIGHT + 40;
    var canvas = el('canvas');
    canvas.width = px(width);
    canvas.height = px(height);
    canvas.style.width = width + 'px';
    canvas.style.height = height + 'px';
    body.appendChild(canvas);
    var ctx = canvas.getContext('2d');
    ctx.scale(window.devicePixelRatio || 1, window.devicePixelRatio || 1);
    var top = 36;
    var bottom = height - 24;
    var n = spec.axes.length;
    var left = 60;
    var right = width - 60;
    var gap = n > 1 ? (right - left) / (n - 1) : 0;
    var scales = spec.axes.map(function (axis, a) {
      if (axis.categories) {
        var k = Math.max(1, axis.categories.length - 1);
        return {
          min: 0,
          max: k,
          f: function (v) {
            return v;
          },
          axis: axis,
          a: a,
        };
      }
      var f = axis.log
        ? function (v) {
            return Math.log10(v);
          }
        : function (v) {
            return v;
          };
      var vals = spec.lines
        .map(function (l) {
          return l.values[a];
        })
        .filter(function (v) {
          return v !== null && isFinite(f(v));
        })
        .map(f);
      var min = vals.length ? Math.min.apply(null, vals) : 0;
      var max = vals.length ? Math.max.apply(null, vals) : 1;
      if (max === min) {
        min -= 0.5;
        max += 0.5;
      }
      return { min: min, max: max, f: f, axis: axis, a: a };
    });
    function yOf(s, v) {
      return bottom - ((s.f(v) - s.min) / (s.max - s.min)) * (bottom - top);
    }
    function fmt(s, t) {
      var v = s.axis.log ? Math.pow(10, t) : t;
      return Math.abs(v) < 1e-2 || Math.abs(v) >= 1e4
        ? v.toExponential(1)
        : String(Number(v.toPrecision(3)));
    }
    ctx.font = '11px system-ui, sans-serif';
    spec.lines.forEach(function (line) {
      ctx.strokeStyle = line.color;
      ctx.lineWidth = line.width || 1.5;
      ctx.setLineDash(line.dashed ? [5, 4] : []);
      ctx.beginPath();
      var pen = false;
      scales.forEach(function (s, a) {
        var v = line.values[a];
        if (v === null || !isFinite(s.f(v))) {
          pen = false;
          return;
        }
        var x = left + a * gap;
        var y = yOf(s, v);
        if (pen) ctx.lineTo(x, y);
        else ctx.moveTo(x, y);
        pen = true;
      });
      ctx.stroke();
    });
    ctx.setLineDash([]);
    scales.forEach(function (s, a) {
      var x = left + a * gap;
      ctx.strokeStyle = '#555';
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, bottom);
      ctx.stroke();
      ctx.fillStyle = '#222';
      ctx.textAlign = 'center';
      ctx.fillText(s.axis.label + (s.axis.log ? ' (log)' : ''), x, top - 18);
      var ticks = s.axis.categories
        ? s.axis.categories.map(function (c, i) {
            return [i, c];
          })
        : [
            [s.max, fmt(s, s.max)],
            [s.min, fmt(s, s.min)],
          ];
      ctx.textAlign = 'right';
      ticks.forEach(function (t) {
        var y = bottom - ((t[0] - s.min) / (s.max - s.min)) * (bottom - top);
        ctx.fillText(String(t[1]), x - 4, y + 4);
      });
    });
    return {
      data: [
        spec.lines.map(function (l) {
          return l.label;
        }),
      ],
      destroy: function () {},
    };
  }

  function render(figure, spec) {
    var old = charts.get(spec.id);
    if (old && old.plot) old.plot.destroy();
    figure.textContent = '';
    figure.appendChild(el('figcaption', 'vk-title', spec.title));
    var body = el('div', 'vk-body');
    figure.appendChild(body);
    var plot = spec.kind === 'parallel' ? renderParallel(body, spec) : renderLine(body, spec);
    var notes = [];
    if (spec.highlights && spec.highlights.length > 0)
      notes.push(
        'Shaded: ' +
          spec.highlights
            .map(function (h) {
              return h.label;
            })
            .join('; '),
      );
    if (spec.caption) notes.push(spec.caption);
    notes.forEach(function (n) {
      figure.appendChild(el('p', 'vk-caption', n));
    });
    figure.setAttribute('data-rendered', 'true');
    charts.set(spec.id, { spec: spec, plot: plot, figure: figure });
  }

  /** Redraws the chart with spec.id; new data on an unchanged layout only moves the lines. */
  function update(spec) {
    var known = charts.get(spec.id);
    var figure =
      (known && known.figure) ||
      document.querySelector('figure.vk-chart[data-chart-id="' + safeId(spec.id) + '"]');
    if (!figure) return false;
    var sameShape =
      known &&
      known.plot &&
      spec.kind === 'line' &&
      known.spec.kind === 'line' &&
      spec.x.length > 0 &&
      known.spec.series.length === spec.series.length &&
      JSON.stringify(known.spec.markers || []) === JSON.stringify(spec.markers || []) &&
      JSON.stringify(known.spec.highlights || []) === JSON.stringify(spec.highlights || []);
    if (sameShape) {
      known.spec = spec;
      known.plot.setData(alignedData(spec));
    } else {
      render(figure, spec);
    }
    return true;
  }

  function renderAll(root) {
    var figures = (root || document).querySelectorAll('figure.vk-chart:not([data-rendered])');
    Array.prototype.forEach.call(figures, function (figure) {
      var json = figure.querySelector('script[type="application/json"]');
      if (!json) return;
      render(figure, JSON.parse(json.textContent));
    });
  }

  var resizeTimer;
  window.addEventListener('resize', function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      charts.forEach(function (c) {
        if (c.plot && c.plot.setSize && c.spec.kind === 'line')
          c.plot.setSize({ width: widthOf(c.figure.querySelector('.vk-body')), height: HEIGHT });
      });
    }, 150);
  });

  window.vggkit = { charts: charts, render: render, update: update, renderAll: renderAll };
  if (document.readyState === 'loading')
    document.addEventListener('DOMContentLoaded', function () {
      renderAll();
    });
  else renderAll();
})();

// optsurf report, interactive view of one experiment.
//
// The page carries its data inline (<script id="optsurf-data">): the runs' points, gradients and
// losses, their colours, and where the contour image beside the page (contour.png, drawn by
// optsurf) puts the surface's domain. This script draws every visible run's path up to the
// current step over that image, the loss chart with a cursor at the step, a tooltip on hover and
// a toggle per run. No framework, no network: it works from file://.
//
// A model's plane (landscape_view.html) carries its runs' projected snapshots as points, the step
// of each (stepLabels) and each point's residual: points further off the plane than the threshold
// are drawn hollow, as the figures draw them.
//
// window.optsurfView exposes the state as drawn, for tests and for the curious: the step, the
// runs shown, each run's current point and the loss cursor in canvas pixels (CSS pixels).
(function () {
  'use strict';

  var MAX_LOSS = 999.99999; // losses are clipped as the figures clip them
  var CURSOR = '#333333';
  var data = JSON.parse(document.getElementById('optsurf-data').textContent);
  var runs = data.runs;
  var lengths = runs.map(function (r) { return Math.min(r.points.length, r.loss.length); });
  var maxStep = Math.max(0, Math.max.apply(null, lengths.concat([1])) - 1);
  // The step a point shows: its index, or a plane's snapshot step.
  function stepOf(k) { return data.stepLabels && k < data.stepLabels.length ? data.stepLabels[k] : k; }
  function offPlane(r, k) {
    if (!r.residual) { return false; }
    var e = r.residual[k];
    return e === null || !isFinite(e) || e > data.threshold;
  }

  var view = window.optsurfView = {
    ready: false,
    step: maxStep,
    maxStep: maxStep,
    labels: runs.map(function (r) { return r.label; }),
    colors: runs.map(function (r) { return r.color; }),
    visible: runs.map(function () { return true; }),
    points: [],
    hollow: [],
    cursorX: null,
    cursorDots: [],
    surfaceArea: null,
    lossArea: null,
    hover: null,
    playing: false
  };

  // ---- numbers ----
  function fmt(v) {
    if (v === null || v === undefined || !isFinite(v)) { return String(v); }
    if (v === 0) { return '0'; }
    var a = Math.abs(v);
    if (a < 1e-4 || a >= 1e6) { return Number(v.toExponential(4)).toExponential().replace('e+', 'e'); }
    return String(Number(v.toPrecision(6)));
  }
  function clipLoss(v) {
    if (v === null || !isFinite(v)) { return null; }
    return Math.max(-MAX_LOSS, Math.min(MAX_LOSS, v));
  }
  function niceStep(span, count) {
    var raw = span / Math.max(1, count);
    var p = Math.pow(10, Math.floor(Math.log10(raw)));
    var m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10) * p;
  }
  function linearTicks(lo, hi, count) {
    var s = niceStep(hi - lo, count);
    var out = [];
    for (var t = Math.ceil(lo / s) * s; t <= hi + s * 1e-9; t += s) { out.push(Math.abs(t) < s * 1e-9 ? 0 : t); }
    return out;
  }

  // ---- canvases at the screen's resolution ----
  function setup(canvas) {
    var w = canvas.width, h = canvas.height, dpr = window.devicePixelRatio || 1;
    canvas.style.width = w + 'px';
    canvas.style.height = h + 'px';
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    var ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return { canvas: canvas, ctx: ctx, w: w, h: h };
  }
  // Mouse position in the canvas's CSS pixels, whatever its displayed size.
  function mouse(c, event) {
    var r = c.canvas.getBoundingClientRect();
    return [(event.clientX - r.left) * c.w / r.width, (event.clientY - r.top) * c.h / r.height];
  }

  // ---- the surface: data to pixels ----
  var surface = setup(document.getElementById('paths'));
  var area, domain;
  if (data.image && data.domain) {
    area = data.image.area;
    domain = data.domain;
  } else {
    area = [56, 14, surface.w - 14, surface.h - 40];
    domain = data.domain || extent();
  }
  view.surfaceArea = area.slice();
  function extent() {
    var lo = [Infinity, Infinity], hi = [-Infinity, -Infinity];
    runs.forEach(function (r, i) {
      for (var k = 0; k < lengths[i]; k++) {
        for (var a = 0; a < 2; a++) {
          var v = r.points[k][a];
          if (isFinite(v)) { lo[a] = Math.min(lo[a], v); hi[a] = Math.max(hi[a], v); }
        }
      }
    });
    return [0, 1].map(function (a) {
      if (!isFinite(lo[a])) { return [-1, 1]; }
      var pad = Math.max((hi[a] - lo[a]) * 0.05, 0.5);
      return [lo[a] - pad, hi[a] + pad];
    });
  }
  function toPixel(p) {
    return [
      area[0] + (p[0] - domain[0][0]) / (domain[0][1] - domain[0][0]) * (area[2] - area[0]),
      area[3] - (p[1] - domain[1][0]) / (domain[1][1] - domain[1][0]) * (area[3] - area[1])
    ];
  }
  var pixels = runs.map(function (r, i) { return r.points.slice(0, lengths[i]).map(toPixel); });

  // The frame and extreme values, when there is no contour image to carry axes.
  function drawBareAxes(ctx) {
    ctx.strokeStyle = '#cccccc';
    ctx.lineWidth = 1;
    ctx.strokeRect(area[0], area[1], area[2] - area[0], area[3] - area[1]);
    ctx.fillStyle = '#555555';
    ctx.font = '11px sans-serif';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    ctx.fillText(fmt(domain[0][0]), area[0], area[3] + 5);
    ctx.fillText(fmt(domain[0][1]), area[2], area[3] + 5);
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    ctx.fillText(fmt(domain[1][0]), area[0] - 5, area[3]);
    ctx.fillText(fmt(domain[1][1]), area[0] - 5, area[1]);
  }

  function drawSurface() {
    var ctx = surface.ctx, step = view.step;
    ctx.clearRect(0, 0, surface.w, surface.h);
    if (!data.image) { drawBareAxes(ctx); }
    ctx.save();
    ctx.beginPath();
    ctx.rect(area[0], area[1], area[2] - area[0], area[3] - area[1]);
    ctx.clip();
    ctx.lineJoin = 'round';
    ctx.lineCap = 'round';
    view.points = runs.map(function () { return null; });
    view.hollow = runs.map(function () { return null; });
    runs.forEach(function (r, i) {
      var px = pixels[i];
      if (!view.visible[i] || px.length === 0) { return; }
      var k = Math.min(step, px.length - 1);
      if (k > 0) {
        ctx.beginPath();
        ctx.moveTo(px[0][0], px[0][1]);
        for (var j = 1; j <= k; j++) { ctx.lineTo(px[j][0], px[j][1]); }
        ctx.strokeStyle = 'rgba(0, 0, 0, 0.35)';
        ctx.lineWidth = 4;
        ctx.stroke();
        ctx.strokeStyle = r.color;
        ctx.lineWidth = 2;
        ctx.stroke();
      }
      // A plane's snapshots: small dots, hollow off the plane.
      if (r.residual) {
        for (var s = 0; s < k; s++) {
          ctx.beginPath();
          ctx.arc(px[s][0], px[s][1], 2.5, 0, 2 * Math.PI);
          ctx.fillStyle = offPlane(r, s) ? '#ffffff' : r.color;
          ctx.fill();
          ctx.strokeStyle = r.color;
          ctx.lineWidth = 1;
          ctx.stroke();
        }
      }
      // A ring at the start.
      ctx.beginPath();
      ctx.arc(px[0][0], px[0][1], 4, 0, 2 * Math.PI);
      ctx.fillStyle = '#ffffff';
      ctx.fill();
      ctx.strokeStyle = r.color;
      ctx.lineWidth = 1.6;
      ctx.stroke();
    });
    // Current points on top of every path: a disc in the run's colour (a cross when the run
    // ended before this step: it diverged).
    runs.forEach(function (r, i) {
      var px = pixels[i];
      if (!view.visible[i] || px.length === 0) { return; }
      var k = Math.min(step, px.length - 1);
      var p = px[k];
      ctx.beginPath();
      var hollow = offPlane(r, k);
      ctx.arc(p[0], p[1], 5, 0, 2 * Math.PI);
      ctx.fillStyle = hollow ? '#ffffff' : r.color;
      ctx.fill();
      ctx.strokeStyle = hollow ? r.color : '#222222';
      ctx.lineWidth = 1.2;
      ctx.stroke();
      if (step > px.length - 1 && r.status === 'diverged') {
        ctx.beginPath();
        ctx.moveTo(p[0] - 8, p[1] - 8); ctx.lineTo(p[0] + 8, p[1] + 8);
        ctx.moveTo(p[0] + 8, p[1] - 8); ctx.lineTo(p[0] - 8, p[1] + 8);
        ctx.strokeStyle = '#b3261e';
        ctx.lineWidth = 2;
        ctx.stroke();
      }
      view.points[i] = [p[0], p[1]];
      view.hollow[i] = hollow;
    });
    ctx.restore();
  }

  // ---- the loss chart ----
  var chart = setup(document.getElementById('loss'));
  var lossArea = [64, 12, chart.w - 14, chart.h - 34];
  view.lossArea = lossArea.slice();
  var yScale = (function () {
    var lo = Infinity, hi = -Infinity;
    runs.forEach(function (r, i) {
      for (var k = 0; k < lengths[i]; k++) {
        var v = clipLoss(r.loss[k]);
        if (v !== null) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      }
    });
    if (!isFinite(lo)) { lo = 0; hi = 1; }
    if (lo > 0 && hi / lo > 1e3) {
      var a = Math.floor(Math.log10(lo)), b = Math.ceil(Math.log10(hi));
      if (b === a) { b = a + 1; }
      var every = Math.max(1, Math.ceil((b - a) / 8));
      var ticks = [];
      for (var e = a; e <= b; e += every) { ticks.push(Math.pow(10, e)); }
      return { log: true, lo: a, hi: b, ticks: ticks };
    }
    if (hi === lo) { var d = Math.abs(lo) * 0.1 || 1; lo -= d; hi += d; }
    var m = (hi - lo) * 0.05;
    return { log: false, lo: lo - m, hi: hi + m, ticks: linearTicks(lo - m, hi + m, 6) };
  }());
  function xOf(step) {
    return lossArea[0] + (maxStep > 0 ? step / maxStep : 0) * (lossArea[2] - lossArea[0]);
  }
  function yOf(v) {
    var t = yScale.log ? (Math.log10(v) - yScale.lo) / (yScale.hi - yScale.lo) : (v - yScale.lo) / (yScale.hi - yScale.lo);
    return lossArea[3] - t * (lossArea[3] - lossArea[1]);
  }

  function drawChart() {
    var ctx = chart.ctx, step = view.step;
    ctx.clearRect(0, 0, chart.w, chart.h);
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, chart.w, chart.h);
    ctx.font = '11px sans-serif';
    ctx.lineWidth = 1;
    ctx.strokeStyle = '#e6e6e6';
    ctx.fillStyle = '#555555';
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    yScale.ticks.forEach(function (t) {
      var y = Math.round(yOf(t)) + 0.5;
      ctx.beginPath(); ctx.moveTo(lossArea[0], y); ctx.lineTo(lossArea[2], y); ctx.stroke();
      ctx.fillText(fmt(t), lossArea[0] - 6, y);
    });
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    linearTicks(0, Math.max(maxStep, 1), 8).forEach(function (t) {
      if (t > maxStep || t !== Math.round(t)) { return; }
      var x = Math.round(xOf(t)) + 0.5;
      ctx.beginPath(); ctx.moveTo(x, lossArea[1]); ctx.lineTo(x, lossArea[3]); ctx.stroke();
      ctx.fillText(String(stepOf(t)), x, lossArea[3] + 5);
    });
    ctx.fillText('step', (lossArea[0] + lossArea[2]) / 2, lossArea[3] + 19);
    ctx.save();
    ctx.translate(13, (lossArea[1] + lossArea[3]) / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText(yScale.log ? 'loss (log scale)' : 'loss', 0, -6);
    ctx.restore();
    ctx.strokeStyle = '#cccccc';
    ctx.strokeRect(lossArea[0], lossArea[1], lossArea[2] - lossArea[0], lossArea[3] - lossArea[1]);

    ctx.save();
    ctx.beginPath();
    ctx.rect(lossArea[0], lossArea[1], lossArea[2] - lossArea[0], lossArea[3] - lossArea[1]);
    ctx.clip();
    ctx.lineJoin = 'round';
    runs.forEach(function (r, i) {
      if (!view.visible[i]) { return; }
      ctx.beginPath();
      var pen = false;
      for (var k = 0; k < lengths[i]; k++) {
        var v = clipLoss(r.loss[k]);
        if (v === null || (yScale.log && v <= 0)) { pen = false; continue; }
        if (pen) { ctx.lineTo(xOf(k), yOf(v)); } else { ctx.moveTo(xOf(k), yOf(v)); pen = true; }
      }
      ctx.strokeStyle = r.color;
      ctx.lineWidth = 1.8;
      ctx.stroke();
    });
    // The cursor, over the curves; then each visible run's loss at the step on it.
    var cx = xOf(step);
    ctx.beginPath();
    ctx.moveTo(cx, lossArea[1]);
    ctx.lineTo(cx, lossArea[3]);
    ctx.strokeStyle = CURSOR;
    ctx.lineWidth = 2;
    ctx.stroke();
    view.cursorX = cx;
    view.cursorDots = runs.map(function (r, i) {
      if (!view.visible[i] || step >= lengths[i]) { return null; }
      var v = clipLoss(r.loss[step]);
      if (v === null || (yScale.log && v <= 0)) { return null; }
      var y = yOf(v);
      ctx.beginPath();
      ctx.arc(cx, y, 3.5, 0, 2 * Math.PI);
      ctx.fillStyle = r.color;
      ctx.fill();
      ctx.strokeStyle = '#222222';
      ctx.lineWidth = 1;
      ctx.stroke();
      return [cx, y];
    });
    ctx.restore();
  }

  // ---- controls ----
  var slider = document.getElementById('step');
  var label = document.getElementById('step-label');
  var play = document.getElementById('play');
  slider.max = String(maxStep);
  slider.value = String(view.step);
  var rows = [];

  function buildRunList() {
    var body = document.querySelector('#run-list tbody');
    runs.forEach(function (r, i) {
      var tr = document.createElement('tr');
      tr.dataset.run = String(i);
      if (r.best) { tr.className = 'best'; }
      var box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = true;
      box.dataset.run = String(i);
      box.setAttribute('aria-label', 'show ' + r.label);
      box.addEventListener('change', function () { toggle(i, box.checked); });
      var cells = [document.createElement('td'), document.createElement('td'), document.createElement('td'),
        document.createElement('td'), document.createElement('td')];
      cells[0].appendChild(box);
      var swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.background = r.color;
      var name = document.createElement('label');
      name.appendChild(swatch);
      name.appendChild(document.createTextNode(r.label));
      name.addEventListener('click', function () { box.click(); });
      cells[1].appendChild(name);
      cells[2].className = 'hyper';
      cells[2].textContent = r.optimizer + (r.hyper ? ': ' + r.hyper : '');
      cells[3].className = 'num now';
      cells[4].className = 'num';
      cells[4].textContent = r.finalLoss === null ? (r.status === 'diverged' ? 'diverged at ' + r.divergedAt : '—')
        : fmt(r.finalLoss);
      if (r.best) {
        var badge = document.createElement('span');
        badge.className = 'badge';
        badge.textContent = 'best';
        cells[4].appendChild(document.createTextNode(' '));
        cells[4].appendChild(badge);
      }
      cells.forEach(function (c) { tr.appendChild(c); });
      body.appendChild(tr);
      rows.push({ tr: tr, box: box, now: cells[3] });
    });
  }

  function render() {
    drawSurface();
    drawChart();
    label.textContent = 'step ' + stepOf(view.step) + ' / ' + stepOf(maxStep);
    document.body.dataset.step = String(stepOf(view.step));
    rows.forEach(function (row, i) {
      var k = view.step;
      row.tr.classList.toggle('off', !view.visible[i]);
      row.now.textContent = k < lengths[i] ? fmt(runs[i].loss[k]) : (runs[i].status === 'diverged' ? 'diverged' : '—');
    });
  }

  function setStep(k) {
    k = Math.max(0, Math.min(maxStep, Math.round(Number(k)) || 0));
    view.step = k;
    if (slider.value !== String(k)) { slider.value = String(k); }
    render();
  }
  function toggle(i, on) {
    view.visible[i] = on === undefined ? !view.visible[i] : Boolean(on);
    rows[i].box.checked = view.visible[i];
    hideTip();
    render();
  }
  var timer = null;
  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    view.playing = false;
    play.textContent = '▶ play';
  }
  function start() {
    if (view.step >= maxStep) { setStep(0); }
    view.playing = true;
    play.textContent = '❚❚ pause';
    timer = setInterval(function () {
      if (view.step >= maxStep) { stop(); return; }
      setStep(view.step + 1);
    }, data.frameMs || 100);
  }
  view.setStep = setStep;
  view.toggle = toggle;
  view.play = start;
  view.pause = stop;

  slider.addEventListener('input', function () { setStep(slider.value); });
  slider.addEventListener('change', function () { setStep(slider.value); });
  play.addEventListener('click', function () { if (view.playing) { stop(); } else { start(); } });

  // ---- hover ----
  var tip = document.getElementById('tooltip');
  function showTip(event, i, k) {
    var r = runs[i], p = r.points[k], g = k < r.grads.length ? r.grads[k] : null;
    tip.innerHTML = '';
    var lines = [
      [r.label, ' (' + r.optimizer + ')'],
      ['step ', String(stepOf(k))],
      ['point ', '(' + fmt(p[0]) + ', ' + fmt(p[1]) + ')'],
      ['loss ', fmt(r.loss[k])]
    ];
    if (r.residual) {
      lines.push(['plane\'s loss there ', fmt(r.planeLoss[k])]);
      lines.push(['residual ', fmt(r.residual[k]) + (offPlane(r, k) ? ' (off the plane)' : '')]);
    } else {
      lines.push(['gradient ', g ? '(' + fmt(g[0]) + ', ' + fmt(g[1]) + ')' : '— (no step taken from this point)']);
    }
    if (r.learningRates && k < r.learningRates.length) { lines.push(['learning rate ', fmt(r.learningRates[k])]); }
    lines.forEach(function (line, n) {
      var div = document.createElement('div');
      if (n === 0) {
        var b = document.createElement('b');
        b.textContent = line[0];
        b.style.color = r.color;
        div.appendChild(b);
        div.appendChild(document.createTextNode(line[1]));
      } else {
        div.textContent = line[0] + line[1];
      }
      tip.appendChild(div);
    });
    tip.hidden = false;
    var x = event.clientX + 14, y = event.clientY + 14;
    var w = tip.offsetWidth, h = tip.offsetHeight;
    if (x + w > window.innerWidth - 4) { x = event.clientX - w - 14; }
    if (y + h > window.innerHeight - 4) { y = event.clientY - h - 14; }
    tip.style.left = x + 'px';
    tip.style.top = y + 'px';
    view.hover = { run: i, step: k, label: r.label, point: p.slice(), loss: r.loss[k], gradient: g ? g.slice() : null };
  }
  function hideTip() {
    tip.hidden = true;
    view.hover = null;
  }
  surface.canvas.addEventListener('mousemove', function (event) {
    var m = mouse(surface, event), best = null, bestD = 10 * 10;
    runs.forEach(function (r, i) {
      if (!view.visible[i]) { return; }
      var px = pixels[i], last = Math.min(view.step, px.length - 1);
      for (var k = 0; k <= last; k++) {
        var dx = px[k][0] - m[0], dy = px[k][1] - m[1], d = dx * dx + dy * dy;
        // Ties go to the later run and the later step: the ones drawn on top.
        if (d <= bestD) { bestD = d; best = [i, k]; }
      }
    });
    if (best) { showTip(event, best[0], best[1]); } else { hideTip(); }
  });
  chart.canvas.addEventListener('mousemove', function (event) {
    var m = mouse(chart, event);
    if (m[0] < lossArea[0] - 6 || m[0] > lossArea[2] + 6) { hideTip(); return; }
    var k = Math.max(0, Math.min(maxStep, Math.round((m[0] - lossArea[0]) / (lossArea[2] - lossArea[0]) * maxStep)));
    var best = null, bestD = 12;
    runs.forEach(function (r, i) {
      if (!view.visible[i] || k >= lengths[i]) { return; }
      var v = clipLoss(r.loss[k]);
      if (v === null || (yScale.log && v <= 0)) { return; }
      var d = Math.abs(yOf(v) - m[1]);
      if (d <= bestD) { bestD = d; best = i; }
    });
    if (best !== null) { showTip(event, best, k); } else { hideTip(); }
  });
  surface.canvas.addEventListener('mouseleave', hideTip);
  chart.canvas.addEventListener('mouseleave', hideTip);

  buildRunList();
  render();
  view.ready = true;
}());

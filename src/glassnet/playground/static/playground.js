// glassnet playground: the page. It draws what the server's glassnet network computes and
// sends the controls back; it computes no network of its own.
"use strict";

const OPTIONS = {
  learning_rate: [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10],
  activation: ["relu", "tanh", "sigmoid", "identity", "leaky_relu", "elu", "gelu", "silu"],
  reg_rate: [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10],
  dropout: [0, 0.1, 0.2, 0.3, 0.5],
  epochs_per_frame: [1, 2, 5, 10, 25, 100],
  classification: ["circle", "xor", "gauss", "spiral", "moons", "blobs"],
  regression: ["plane", "reg-gauss"],
};
const DATASET_NAMES = { "reg-gauss": "gauss", blobs: "blobs (3 classes)", custom: "your CSV" };
const SETTINGS_IN_URL = ["dataset", "noise", "train_percent", "batch_size", "data_seed",
  "features", "hidden", "activation", "layer_activations", "head", "learning_rate",
  "optimizer", "schedule", "regularization", "reg_rate", "dropout", "seed",
  "epochs_per_frame"];
const ALL_FEATURES = ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"];
const PALETTE = ["#f59322", "#0877bd", "#2ca02c", "#9467bd", "#d62728", "#8c564b",
  "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const MAX_LAYERS = 6, MAX_UNITS = 16;

const $ = (id) => document.getElementById(id);
let meta = null;          // the run: settings, points, layers, input maps (GET /api/state)
let frame = null;         // the newest frame
let curve = [];           // [epoch, train loss, test loss] since the run started
let selectedSample = 0;   // the training sample whose numbers the formulas show
let hovered = null;       // [layer, unit] of the neuron under the mouse
let tooltip = null;

// ------------------------------------------------------------------ colours
function hex(c) { return [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)); }
const NEG = hex("#f59322"), POS = hex("#0877bd"), WHITE = [255, 255, 255];
function mix(a, b, t) { return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * t)); }
// byte q encodes v = 2 q / 255 - 1 in [-1, 1]: orange below 0, white at 0, blue above
const DIVERGING = Array.from({ length: 256 }, (_, q) => {
  const v = (2 * q) / 255 - 1;
  return v < 0 ? mix(WHITE, NEG, -v) : mix(WHITE, POS, v);
});
function bytes(b64) {
  const s = atob(b64), out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

// Paint an n x n map of bytes (n from its length: the output's resolution, or the neurons'
// coarser grid) onto a canvas, scaled by the browser. Colours come from tables and pixels are
// written in place: no array is made per pixel (a 6x16 network paints 100 maps a frame).
const offscreen = {};
const DIVERGING_LIGHT = DIVERGING.map((rgb) => mix(WHITE, rgb, 0.7));
function paint(canvas, values, classes, discretize, light) {
  const n = Math.round(Math.sqrt(values.length));
  if (!offscreen[n]) {
    const off = document.createElement("canvas");
    off.width = off.height = n;
    offscreen[n] = [off, off.getContext("2d").createImageData(n, n)];
  }
  const [off, img] = offscreen[n], data = img.data;
  const table = light ? DIVERGING_LIGHT : DIVERGING;
  for (let i = 0; i < n * n; i++) {
    let rgb;
    if (classes) {
      const conf = discretize ? 1 : Math.max(0, (values[i] / 255) * 2 - 1 + 0.2);
      rgb = mix(WHITE, hex(PALETTE[classes[i] % PALETTE.length]), Math.min(1, conf) * 0.8);
      if (light) rgb = mix(WHITE, rgb, 0.7);    // the points drawn on top stay visible
    } else {
      rgb = table[discretize ? (values[i] >= 128 ? 255 : 0) : values[i]];
    }
    const k = 4 * i;
    data[k] = rgb[0]; data[k + 1] = rgb[1]; data[k + 2] = rgb[2]; data[k + 3] = 255;
  }
  off.getContext("2d").putImageData(img, 0, 0);
  const c = canvas.getContext("2d");
  c.imageSmoothingEnabled = true;
  c.clearRect(0, 0, canvas.width, canvas.height);
  c.drawImage(off, 0, 0, canvas.width, canvas.height);
}

// ------------------------------------------------------------------ server calls
// This tab's run: its own network on the server, kept across reloads (sessionStorage is per
// tab), never touched by another tab.
const RUN = sessionStorage.getItem("glassnet-run") ||
  (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2));
sessionStorage.setItem("glassnet-run", RUN);
function api(url) { return url + (url.includes("?") ? "&" : "?") + "run=" + encodeURIComponent(RUN); }

async function post(url, body, raw) {
  url = api(url);
  const response = await fetch(url, {
    method: "POST", body: raw ? body : JSON.stringify(body),
    headers: { "Content-Type": raw ? "text/csv" : "application/json" },
  });
  const result = await response.json();
  if (!response.ok) { showError(result.error || response.statusText); return null; }
  showError("");
  return result;
}
function showError(message) { $("error").textContent = message; }

// The last runs' test-loss curves, drawn faintly under the current one to compare settings.
const pastCurves = [];
async function loadState(state) {
  if (!state) state = await (await fetch(api("/api/state"))).json();
  if (meta && state.session !== meta.session && curve.length > 1) {
    pastCurves.unshift(curve.filter((p) => p[2] !== null));
    pastCurves.length = Math.min(pastCurves.length, 3);
  }
  meta = state;
  curve = (state.curve || []).slice();
  frame = state.frame;
  $("download-onnx").classList.toggle("disabled", !state.onnx);
  for (const [id, path] of [["download-model", "/api/model.safetensors"],
                            ["download-onnx", "/api/model.onnx"], ["download-code", "/api/train.py"]])
    $(id).href = api(path);
  syncControls();
  buildNetwork();
  render();
  writeUrl();
}
async function changeSettings(values) {
  const state = await post("/api/settings", values);
  if (state) await loadState(state);
  else syncControls();
}

// ------------------------------------------------------------------ controls
function fillSelect(id, values, format) {
  const el = $(id);
  el.innerHTML = "";
  for (const v of values) {
    const o = document.createElement("option");
    o.value = String(v); o.textContent = format ? format(v) : String(v);
    el.appendChild(o);
  }
}
function setupControls() {
  fillSelect("learning_rate", OPTIONS.learning_rate);
  fillSelect("activation", OPTIONS.activation);
  fillSelect("reg_rate", OPTIONS.reg_rate);
  fillSelect("dropout", OPTIONS.dropout);
  fillSelect("epochs_per_frame", OPTIONS.epochs_per_frame, (v) => `${v} epoch${v > 1 ? "s" : ""}/frame`);
  for (const id of ["learning_rate", "reg_rate", "dropout"]) {
    $(id).addEventListener("change", (e) => changeSettings({ [id]: parseFloat(e.target.value) }));
  }
  $("problem").addEventListener("change", (e) => changeSettings({ dataset: OPTIONS[e.target.value][0] }));
  for (const id of ["activation", "regularization", "optimizer", "schedule", "head", "dataset"]) {
    $(id).addEventListener("change", (e) => {
      const values = { [id]: e.target.value };
      if (id === "dataset" && e.target.value === "blobs") values.head = "softmax";
      if (id === "activation") values.layer_activations = [];
      changeSettings(values);
    });
  }
  $("epochs_per_frame").addEventListener("change", (e) => changeSettings({ epochs_per_frame: parseInt(e.target.value) }));
  $("seed").addEventListener("change", (e) => changeSettings({ seed: parseInt(e.target.value) || 0 }));
  for (const id of ["train_percent", "noise", "batch_size"]) {
    $(id).addEventListener("input", (e) => { $(`${id}-value`).textContent = label(id, e.target.value); });
    $(id).addEventListener("change", (e) => changeSettings({ [id]: parseInt(e.target.value) }));
  }
  $("play").addEventListener("click", async () => {
    // What the button shows decides. The page answers the click at once: the button flips,
    // and after a pause the frames of the epoch under way are not drawn (the picture stands
    // still) until the server's paused frame comes; then the button follows the server.
    const playing = $("play").getAttribute("aria-label") === "Pause";
    holding = playing;
    showPlayState(playing ? "paused" : "playing", true);
    const r = await post("/api/control", { action: playing ? "pause" : "play" });
    if (r) showPlayState(r.status, true);
    else holding = false;
  });
  $("step").addEventListener("click", () => post("/api/control", { action: "step" }));
  $("reset").addEventListener("click", async () => loadState(await post("/api/control", { action: "reset" })));
  $("regenerate").addEventListener("click", async () => loadState(await post("/api/control", { action: "regenerate" })));
  $("add-layer").addEventListener("click", () => {
    const hidden = meta.settings.hidden.slice();
    if (hidden.length < MAX_LAYERS) { hidden.push(2); changeSettings({ hidden, layer_activations: meta.settings.layer_activations.slice(0, hidden.length) }); }
  });
  $("remove-layer").addEventListener("click", () => {
    const hidden = meta.settings.hidden.slice(0, -1);
    changeSettings({ hidden, layer_activations: meta.settings.layer_activations.slice(0, hidden.length) });
  });
  $("upload").addEventListener("change", async (e) => {
    const file = e.target.files[0];
    if (!file) return;
    const state = await post("/api/data", await file.text(), true);
    if (state) loadState(state);
    e.target.value = "";
  });
  $("show-test").addEventListener("change", () => { writeUrl(); render(); });
  $("discretize").addEventListener("change", () => { writeUrl(); render(); });
  for (const id of ["bend-layer", "bend-i", "bend-j"]) $(id).addEventListener("change", sendBend);
  const out = $("output");
  out.addEventListener("mouseenter", () => { hovered = [meta.layers.length - 2, 0]; if (!pinned) showFormula(); });
  out.addEventListener("mouseleave", () => { hovered = null; });
  out.addEventListener("click", (e) => {
    const [x1, x2] = planeAt(out, e);
    let best = 0, bestD = Infinity;
    meta.points.train.forEach(([a, b], i) => { const d = (a - x1) ** 2 + (b - x2) ** 2; if (d < bestD) { bestD = d; best = i; } });
    selectedSample = best; render(); showFormula();
  });
  tooltip = document.createElement("div"); tooltip.id = "tooltip"; document.body.appendChild(tooltip);
}
function label(id, v) { return id === "batch_size" && Number(v) === 0 ? "all" : String(v); }
function syncControls() {
  const s = meta.settings;
  for (const id of ["learning_rate", "reg_rate", "dropout", "epochs_per_frame"]) {
    const el = $(id);
    if (![...el.options].some((o) => Number(o.value) === Number(s[id]))) {
      const o = document.createElement("option"); o.value = String(s[id]); o.textContent = String(s[id]); el.appendChild(o);
    }
    el.value = [...el.options].find((o) => Number(o.value) === Number(s[id])).value;
  }
  for (const id of ["activation", "regularization", "optimizer", "schedule", "head"]) $(id).value = s[id];
  // A regression's output is the identity and its loss the squared error, whatever the
  // classification head setting says.
  const regression = meta.task === "regression";
  $("head").querySelector('option[value="identity"]').hidden = !regression;
  if (regression) $("head").value = "identity";
  $("head").disabled = regression;
  // The data sets of this problem type, and an uploaded table while there is one.
  $("problem").value = meta.task;
  const names = OPTIONS[meta.task].slice();
  if (s.dataset === "custom") names.push("custom");
  fillSelect("dataset", names, (v) => DATASET_NAMES[v] || v);
  $("dataset").value = s.dataset;
  drawThumbnails();
  $("seed").value = s.seed;
  for (const id of ["train_percent", "noise", "batch_size"]) { $(id).value = s[id]; $(`${id}-value`).textContent = label(id, s[id]); }
  $("task").textContent = `${meta.task}${meta.task === "classification" ? `, ${meta.n_classes} classes` : ""}; loss: ${meta.loss}`;
  $("layer-count").textContent = `${s.hidden.length} hidden layer${s.hidden.length === 1 ? "" : "s"}`;
  const layerSelect = $("bend-layer"), keep = layerSelect.value;
  fillSelect("bend-layer", ["off", ...s.hidden.map((_, i) => i)], (v) => (v === "off" ? "off" : `hidden ${Number(v) + 1}`));
  if ([...layerSelect.options].some((o) => o.value === keep)) layerSelect.value = keep;
  fillBendUnits();
}
function fillBendUnits() {
  const layer = $("bend-layer").value, n = layer === "off" ? 0 : meta.settings.hidden[Number(layer)];
  const units = Array.from({ length: n }, (_, i) => i);
  const [ki, kj] = [$("bend-i").value, $("bend-j").value];
  fillSelect("bend-i", units, (v) => `unit ${v + 1}`);
  fillSelect("bend-j", units, (v) => `unit ${v + 1}`);
  if (n) { $("bend-i").value = ki && Number(ki) < n ? ki : "0"; $("bend-j").value = kj && Number(kj) < n ? kj : String(Math.min(1, n - 1)); }
}
function sendBend(e) {
  if (e && e.target.id === "bend-layer") fillBendUnits();
  const layer = $("bend-layer").value;
  post("/api/view", { bend: layer === "off" ? null : [Number(layer), Number($("bend-i").value), Number($("bend-j").value)] });
}

// ------------------------------------------------------------------ URL state
function writeUrl() {
  const s = meta.settings, q = new URLSearchParams();
  for (const key of SETTINGS_IN_URL) q.set(key, Array.isArray(s[key]) ? s[key].join(",") : String(s[key]));
  q.set("show_test", $("show-test").checked ? "1" : "0");
  q.set("discretize", $("discretize").checked ? "1" : "0");
  history.replaceState(null, "", `#${q.toString()}`);
}
function readUrl() {
  const q = new URLSearchParams(location.hash.slice(1)), values = {};
  for (const key of SETTINGS_IN_URL) if (q.has(key)) values[key] = q.get(key);
  if (values.dataset === "custom") delete values.dataset;    // the rows are not in the URL
  $("show-test").checked = q.get("show_test") === "1";
  $("discretize").checked = q.get("discretize") === "1";
  return values;
}

// ------------------------------------------------------------------ the network drawing
function nodeCanvas(layer, unit, cls) {
  const node = document.createElement("div");
  node.className = `node ${cls}`;
  node.dataset.layer = layer; node.dataset.unit = unit;
  const c = document.createElement("canvas");
  c.width = c.height = 36;
  c.className = cls === "feature" ? "feature-map" : "neuron";
  c.dataset.layer = layer; c.dataset.unit = unit;
  node.appendChild(c);
  return node;
}
function buildNetwork() {
  links.key = null;                  // new nodes: the links are built again on the next frame
  const s = meta.settings, root = $("columns");
  // A pinned neuron stays pinned while it exists (a new learning rate keeps it).
  const units = [...s.hidden, meta.layers[meta.layers.length - 1]];
  if (pinned && !(pinned[0] < units.length && pinned[1] < units[pinned[0]])) pinned = null;
  // Many neurons to a layer: smaller pictures, so the inspector below stays in view.
  root.classList.toggle("compact", Math.max(...units) > 8);
  root.innerHTML = "";
  // inputs: every feature, the chosen ones lit; a click toggles one
  const inputs = document.createElement("div");
  inputs.className = "layer inputs";
  inputs.innerHTML = `<div class="layer-head">${s.features.length} features</div>`;
  for (const name of ALL_FEATURES) {
    const on = s.features.indexOf(name);
    const node = nodeCanvas(-1, on, `feature${on < 0 ? " off" : ""}`);
    node.dataset.feature = name;
    const tag = document.createElement("span"); tag.className = "name"; tag.textContent = name;
    node.appendChild(tag);
    node.querySelector("canvas").addEventListener("click", () => {
      const features = on < 0 ? ALL_FEATURES.filter((f) => f === name || s.features.includes(f)) : s.features.filter((f) => f !== name);
      if (features.length) changeSettings({ features });
    });
    inputs.appendChild(node);
  }
  root.appendChild(inputs);
  s.hidden.forEach((units, i) => {
    const col = document.createElement("div");
    col.className = "layer hidden-layer";
    const head = document.createElement("div");
    head.className = "layer-head";
    head.innerHTML = `<div><button class="add-unit">+</button><button class="remove-unit">&minus;</button></div><div>${units} neuron${units > 1 ? "s" : ""}</div>`;
    const act = document.createElement("select");
    act.className = "layer-activation";
    for (const a of OPTIONS.activation) { const o = document.createElement("option"); o.value = a; o.textContent = a; act.appendChild(o); }
    act.value = meta.activations[i];
    act.addEventListener("change", () => {
      const per = s.hidden.map((_, k) => (k < s.layer_activations.length ? s.layer_activations[k] : ""));
      per[i] = act.value;
      changeSettings({ layer_activations: per });
    });
    head.appendChild(act);
    head.querySelector(".add-unit").addEventListener("click", () => { const h = s.hidden.slice(); if (h[i] < MAX_UNITS) { h[i] += 1; changeSettings({ hidden: h }); } });
    head.querySelector(".remove-unit").addEventListener("click", () => { const h = s.hidden.slice(); if (h[i] > 1) { h[i] -= 1; changeSettings({ hidden: h }); } });
    col.appendChild(head);
    for (let u = 0; u < units; u++) col.appendChild(nodeCanvas(i, u, "hidden"));
    root.appendChild(col);
  });
  const outCol = document.createElement("div");
  outCol.className = "layer output-layer";
  outCol.innerHTML = `<div class="layer-head">output<br>${meta.activations[meta.activations.length - 1]}</div>`;
  const nOut = meta.layers[meta.layers.length - 1];
  for (let u = 0; u < nOut; u++) outCol.appendChild(nodeCanvas(s.hidden.length, u, "out"));
  root.appendChild(outCol);
  markPinned();
  for (const c of root.querySelectorAll("canvas.neuron")) {
    c.addEventListener("mouseenter", () => { hovered = [Number(c.dataset.layer), Number(c.dataset.unit)]; if (!pinned) showFormula(); });
    c.addEventListener("mouseleave", () => { hovered = null; });
    c.addEventListener("click", () => togglePin(Number(c.dataset.layer), Number(c.dataset.unit)));
    c.title = "hover: its formula; click: pin it in the inspector";
    c.setAttribute("role", "button");
    c.setAttribute("aria-label", `neuron ${Number(c.dataset.unit) + 1} of ${Number(c.dataset.layer) === s.hidden.length ? "the output layer" : `hidden layer ${Number(c.dataset.layer) + 1}`}`);
  }
  // feature maps are fixed for a run
  const maps = Object.fromEntries(meta.features.map((f) => [f.name, f.map]));
  for (const node of root.querySelectorAll(".node.feature")) {
    paint(node.querySelector("canvas"), bytes(maps[node.dataset.feature]));
  }
  requestAnimationFrame(drawLinks);
}

function centre(el, box) {
  const r = el.getBoundingClientRect();
  return [r.left - box.left + r.width / 2, r.top - box.top + r.height / 2, r.width / 2];
}
// The links: drawn on a canvas each frame (1408 curves of the largest network take a few
// milliseconds there, where SVG re-rasterised them all whenever one changed), and hovered and
// clicked through invisible SVG strips built once per network shape and layout, wider than
// the lines, above the neuron columns (which they never cover: links end at the nodes).
let links = { key: null, curves: [] };
function linkColumns() {
  const s = meta.settings;
  return [
    [...document.querySelectorAll(".node.feature")].filter((n) => !n.classList.contains("off"))
      .sort((a, b) => Number(a.dataset.unit) - Number(b.dataset.unit)),
    ...s.hidden.map((_, i) => [...document.querySelectorAll(`.node.hidden[data-layer="${i}"]`)]),
    [...document.querySelectorAll(".node.out")],
  ];
}
function buildLinks(columns, box) {
  const svg = $("links"), canvas = $("links-canvas"), ratio = window.devicePixelRatio || 1;
  svg.setAttribute("viewBox", `0 0 ${box.width} ${box.height}`);
  svg.innerHTML = "";
  canvas.width = Math.round(box.width * ratio);
  canvas.height = Math.round(box.height * ratio);
  canvas.getContext("2d").setTransform(ratio, 0, 0, ratio, 0, 0);
  const curves = [];
  for (let l = 0; l + 1 < columns.length; l++) {
    const layer = [];
    columns[l].forEach((from, i) => {
      const [x0, y0, r0] = centre(from, box);
      layer.push(columns[l + 1].map((to, j) => {
        const [x1, y1, r1] = centre(to, box);
        const xa = x0 + r0, xb = x1 - r1, mid = (xa + xb) / 2;
        const hit = document.createElementNS("http://www.w3.org/2000/svg", "path");
        hit.setAttribute("d", `M${xa},${y0} C${mid},${y0} ${mid},${y1} ${xb},${y1}`);
        hit.setAttribute("class", "link-hit");
        hit.dataset.layer = l; hit.dataset.row = i; hit.dataset.column = j;
        hit.addEventListener("mousemove", (e) => showTip(e, `W${l + 1}[${i},${j}] = ${frame.weights[l][i][j].toPrecision(4)} (click to edit)`));
        hit.addEventListener("mouseleave", () => { tooltip.style.display = "none"; });
        hit.addEventListener("click", (e) => editWeight(l, "W", i, j, e));
        svg.appendChild(hit);
        return [xa, y0, mid, xb, y1];
      }));
    });
    curves.push(layer);
  }
  return curves;
}
function drawLinks() {
  if (!frame || !meta) return;
  const box = $("graph").getBoundingClientRect();
  const columns = linkColumns();
  // A frame of the network before a change of shape can arrive after the page has drawn the
  // new one (CI once saw it): skip it; the new network's first frame draws its links.
  const fits = frame.weights.length === columns.length - 1 && frame.weights.every((W, l) =>
    W.length === columns[l].length && W.every((row) => row.length === columns[l + 1].length));
  if (!fits) return;
  const key = `${columns.map((c) => c.length).join("-")}@${Math.round(box.width)}x${Math.round(box.height)}`;
  if (links.key !== key) links = { key, curves: buildLinks(columns, box) };
  let maxW = 1e-9;
  for (const W of frame.weights) for (const row of W) for (const w of row) maxW = Math.max(maxW, Math.abs(w));
  const ctx = $("links-canvas").getContext("2d");
  ctx.clearRect(0, 0, box.width, box.height);
  ctx.globalAlpha = 0.8;
  frame.weights.forEach((W, l) => W.forEach((row, i) => row.forEach((w, j) => {
    const [xa, y0, mid, xb, y1] = links.curves[l][i][j];
    ctx.beginPath();
    ctx.moveTo(xa, y0);
    ctx.bezierCurveTo(mid, y0, mid, y1, xb, y1);
    ctx.strokeStyle = w < 0 ? "#f59322" : "#0877bd";
    ctx.lineWidth = 0.5 + 5 * Math.abs(w) / maxW;
    ctx.stroke();
  })));
}
function showTip(e, text) {
  tooltip.textContent = text; tooltip.style.display = "block";
  tooltip.style.left = `${e.clientX + 12}px`; tooltip.style.top = `${e.clientY + 12}px`;
}
// An inline editor where the click was, instead of the browser's prompt: Enter sets the
// value between two epochs, Escape or a click elsewhere leaves it.
function editWeight(layer, name, row, column, e) {
  const current = name === "W" ? frame.weights[layer][row][column] : frame.biases[layer][row];
  const editor = $("weight-editor"), input = editor.querySelector("input");
  editor.querySelector("label span").textContent = `${name}${layer + 1}[${row}${name === "W" ? `,${column}` : ""}]`;
  input.value = String(Number(current.toPrecision(6)));
  editor.style.left = `${(e ? e.clientX : 100) + window.scrollX + 8}px`;
  editor.style.top = `${(e ? e.clientY : 100) + window.scrollY + 8}px`;
  editor.hidden = false;
  input.focus(); input.select();
  editor.onsubmit = async (event) => {
    event.preventDefault();
    const value = Number(input.value);
    if (!Number.isFinite(value)) { showError(`not a number: ${input.value}`); return; }
    editor.hidden = true;
    await post("/api/weight", { layer, name, row, column, value });
  };
  input.onkeydown = (event) => { if (event.key === "Escape") editor.hidden = true; };
  input.onblur = () => setTimeout(() => { editor.hidden = true; }, 150);
}
function planeAt(canvas, e) {
  const r = canvas.getBoundingClientRect(), [lo1, hi1, lo2, hi2] = meta.domain;
  return [lo1 + ((e.clientX - r.left) / r.width) * (hi1 - lo1), hi2 - ((e.clientY - r.top) / r.height) * (hi2 - lo2)];
}
function toCanvas(canvas, x1, x2) {
  const [lo1, hi1, lo2, hi2] = meta.domain;
  return [((x1 - lo1) / (hi1 - lo1)) * canvas.width, ((hi2 - x2) / (hi2 - lo2)) * canvas.height];
}
function pointColour(t) {
  if (meta.task === "regression") return `rgb(${DIVERGING[Math.round(((Math.max(-1, Math.min(1, t)) + 1) / 2) * 255)].join(",")})`;
  if (meta.n_classes <= 2 && meta.layers[meta.layers.length - 1] === 1) return t === 1 ? "#0877bd" : "#f59322";
  return PALETTE[t % PALETTE.length];
}
function drawPoints(canvas) {
  const c = canvas.getContext("2d");
  const sets = [["train", "#fff"]];
  if ($("show-test").checked) sets.push(["test", "#000"]);
  for (const [set, stroke] of sets) {
    meta.points[set].forEach(([x1, x2, t], i) => {
      const [x, y] = toCanvas(canvas, x1, x2);
      c.beginPath(); c.arc(x, y, set === "train" && i === selectedSample ? 6 : 3.5, 0, 2 * Math.PI);
      c.fillStyle = pointColour(t); c.fill();
      c.lineWidth = set === "train" && i === selectedSample ? 2.5 : 1; c.strokeStyle = stroke; c.stroke();
    });
  }
}
// Numbers as a person reads them, everywhere on the page: `digits` significant digits, a huge
// or tiny one in short exponent form (never 264 digits across the panel), "diverged" for NaN
// or infinity, "-" for none.
function num(v, digits = 4) {
  if (v === null || v === undefined) return "-";
  const x = Number(v);
  if (!Number.isFinite(x)) return "diverged";
  if (x !== 0 && (Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3)) return x.toExponential(2);
  return String(Number(x.toPrecision(digits)));
}
// The server's answer to the last play/pause click: frames sent before it (still arriving)
// do not flip the button back for the next half second.
let answered = { status: null, at: -Infinity };
let holding = false;      // paused by a click: frames still "playing" are not drawn
function showPlayState(status, click) {
  if (click) answered = { status, at: performance.now() };
  else if (status !== answered.status && performance.now() - answered.at < 500) return;
  $("play").innerHTML = status === "playing" ? "&#10074;&#10074;" : "&#9654;";
  $("play").setAttribute("aria-label", status === "playing" ? "Pause" : "Play");
}
function render() {
  if (!meta || !frame || frame.session !== meta.session) return;
  $("epoch").textContent = String(frame.epoch).padStart(3, "0");
  showPlayState(frame.status);
  $("test-loss").textContent = num(frame.test_loss);
  $("train-loss").textContent = num(frame.train_loss);
  $("accuracy").textContent = frame.test_accuracy === null || frame.test_accuracy === undefined ? `learning rate ${num(frame.learning_rate, 3)}` :
    `accuracy: train ${(100 * frame.train_accuracy).toFixed(1)}%, test ${(100 * frame.test_accuracy).toFixed(1)}%; learning rate ${num(frame.learning_rate, 3)}`;
  $("status").textContent = frame.status === "diverged" || frame.status === "error" ? frame.message : "";
  const discretize = $("discretize").checked, out = frame.output;
  paint($("output"), bytes(out.map), out.classes ? bytes(out.classes) : null, discretize, true);
  drawPoints($("output"));
  drawAxes($("output"));
  drawLegend(out);
  frame.neurons.forEach((layer, l) => layer.forEach((n, u) => {
    const c = document.querySelector(`canvas.neuron[data-layer="${l}"][data-unit="${u}"]`);
    if (c) paint(c, bytes(n.map), null, false);
  }));
  const outs = document.querySelectorAll("canvas.neuron[data-layer]");
  for (const c of outs) {
    if (Number(c.dataset.layer) !== meta.settings.hidden.length) continue;
    // A softmax head: each output neuron's own probability; otherwise the one output.
    if (out.units) paint(c, bytes(out.units[Number(c.dataset.unit)]), null, discretize);
    else paint(c, bytes(out.map), out.classes ? bytes(out.classes) : null, discretize);
  }
  drawChart();
  drawBend();
  drawLinks();
  if ((pinned || hovered) && !formulaPending) showFormula();   // the numbers follow training
}
function drawChart() {
  const canvas = $("chart"), c = canvas.getContext("2d");
  c.clearRect(0, 0, canvas.width, canvas.height);
  const points = curve.filter((p) => p[1] !== null);
  if (points.length < 2) return;
  const past = pastCurves.filter((p) => p.length > 1);
  const maxE = Math.max(points[points.length - 1][0], ...past.map((p) => p[p.length - 1][0])) || 1;
  let maxL = 1e-9;
  for (const p of points) maxL = Math.max(maxL, p[1], p[2] === null ? 0 : p[2]);
  past.forEach((p, r) => {
    c.beginPath();
    p.forEach((q, i) => {
      const x = (q[0] / maxE) * (canvas.width - 2) + 1;
      const y = canvas.height - 2 - (Math.min(q[2], maxL) / maxL) * (canvas.height - 4);
      if (i) c.lineTo(x, y); else c.moveTo(x, y);
    });
    c.strokeStyle = `rgba(8, 119, 189, ${0.45 - 0.12 * r})`; c.lineWidth = 1; c.stroke();
  });
  for (const [k, colour] of [[1, "#777"], [2, "#000"]]) {
    c.beginPath();
    points.forEach((p, i) => {
      const x = (p[0] / maxE) * (canvas.width - 2) + 1, y = canvas.height - 2 - (p[k] / maxL) * (canvas.height - 4);
      if (i) c.lineTo(x, y); else c.moveTo(x, y);
    });
    c.strokeStyle = colour; c.lineWidth = 1.5; c.stroke();
  }
}
function drawBend() {
  const canvas = $("bend"), c = canvas.getContext("2d");
  c.clearRect(0, 0, canvas.width, canvas.height);
  const view = frame.bend;
  if (!view) { c.fillStyle = "#777"; c.font = "13px sans-serif"; c.fillText("choose a hidden layer and two of its units", 20, 150); return; }
  const xs = [], ys = [];
  for (const line of view.lines) for (const [a, b] of line) { xs.push(a); ys.push(b); }
  for (const [a, b] of view.points) { xs.push(a); ys.push(b); }
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const sx = (v) => 10 + ((v - x0) / (x1 - x0 || 1)) * (canvas.width - 20);
  const sy = (v) => canvas.height - 10 - ((v - y0) / (y1 - y0 || 1)) * (canvas.height - 20);
  c.strokeStyle = "#bbb"; c.lineWidth = 1;
  for (const line of view.lines) { c.beginPath(); line.forEach(([a, b], i) => (i ? c.lineTo(sx(a), sy(b)) : c.moveTo(sx(a), sy(b)))); c.stroke(); }
  view.points.forEach(([a, b], i) => {
    c.beginPath(); c.arc(sx(a), sy(b), 3, 0, 2 * Math.PI); c.fillStyle = pointColour(meta.points.train[i][2]); c.fill();
  });
}

// ------------------------------------------------------------------ the inspector
// A neuron's forward formula, its batch's gradients and one update step, with the live
// numbers, as rendered math (MathML, which the browser typesets; nothing is loaded). Hovering
// shows a neuron; a click pins it, so the numbers follow the training while the mouse moves.
let formulaPending = false;
let pinned = null;        // [layer, unit] the inspector keeps, or null: it follows the mouse
function markPinned() {
  for (const c of document.querySelectorAll("canvas.neuron")) {
    c.classList.toggle("pinned", !!pinned && Number(c.dataset.layer) === pinned[0] && Number(c.dataset.unit) === pinned[1]);
  }
}
function togglePin(layer, unit) {
  pinned = pinned && pinned[0] === layer && pinned[1] === unit ? null : [layer, unit];
  markPinned();
  showFormula();
}
function esc(text) { return String(text).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`); }
function mn(v) { const t = num(v); return Number(v) < 0 ? `<mo>(</mo><mn>${esc(t)}</mn><mo>)</mo>` : `<mn>${esc(t)}</mn>`; }
// An input's name as math: x1 -> x_1, x1^2 -> x_1^2, x1*x2, sin(x1), h2_3 -> h_3^(2).
function mathName(name) {
  const x = (d) => `<msub><mi>x</mi><mn>${d}</mn></msub>`;
  let m;
  if ((m = /^x(\d)$/.exec(name))) return x(m[1]);
  if ((m = /^x(\d)\^2$/.exec(name))) return `<msubsup><mi>x</mi><mn>${m[1]}</mn><mn>2</mn></msubsup>`;
  if ((m = /^x(\d)\*x(\d)$/.exec(name))) return `${x(m[1])}<mo>&#x2062;</mo>${x(m[2])}`;
  if ((m = /^sin\(x(\d)\)$/.exec(name))) return `<mi>sin</mi><mo>&#x2061;</mo><mo>(</mo>${x(m[1])}<mo>)</mo>`;
  if ((m = /^h(\d+)_(\d+)$/.exec(name))) return `<msubsup><mi>h</mi><mn>${m[2]}</mn><mrow><mo>(</mo><mn>${m[1]}</mn><mo>)</mo></mrow></msubsup>`;
  return `<mi>${esc(name)}</mi>`;
}
function math(rows) { return `<math display="block"><mtable columnalign="right center left">${rows.map((r) => `<mtr>${r.map((c) => `<mtd>${c}</mtd>`).join("")}</mtr>`).join("")}</mtable></math>`; }
function inspectorHtml(info, name) {
  const terms = info.inputs.map((n, i) => `${mn(info.w[i])}<mo>&#x22C5;</mo>${mathName(n)}`).join("<mo>+</mo>");
  const values = info.inputs.map((n, i) => `${mn(info.w[i])}<mo>&#x22C5;</mo>${mn(info.a_prev[i])}`).join("<mo>+</mo>");
  const rows = [
    ["<mi>z</mi>", "<mo>=</mo>", `${terms}<mo>+</mo>${mn(info.b)}`],
    ["", "<mo>=</mo>", `${values}<mo>+</mo>${mn(info.b)}<mo>=</mo><mn>${esc(num(info.z))}</mn>`],
    ["<mi>a</mi>", "<mo>=</mo>", `<mi>${esc(info.activation)}</mi><mo>&#x2061;</mo><mo>(</mo><mi>z</mi><mo>)</mo><mo>=</mo><mn>${esc(num(info.a))}</mn>`],
  ];
  let html = `<div class="inspector-head"><strong>${esc(name)}</strong> (${esc(info.activation)}) &middot; training sample ${info.sample} &middot; epoch ${info.epoch}
    <span class="inspector-buttons"><button id="pin" aria-label="${pinned ? "Unpin the neuron" : "Pin this neuron"}">${pinned ? "Unpin" : "Pin"}</button><button id="edit-bias" aria-label="Edit the bias">Edit b</button></span></div>`;
  html += math(rows);
  if (info.update) {
    const u = info.update, eta = `<mi>&#x3B7;</mi>`;
    html += `<div class="inspector-sub">Backward over its batch of ${info.batch.length} (∂L/∂z = ${esc(num(info.dZ))} for this sample), and one step of gradient descent, <i>w</i> &minus; &eta;&middot;∂L/∂<i>w</i> with &eta; = ${esc(num(u.learning_rate))}${u.optimizer === "sgd" ? "" : ` (${esc(u.optimizer)} rescales this step with its running averages)`}:</div>`;
    const step = info.inputs.map((n, i) => [
      `<msub><mi>w</mi>${mathName(n)}</msub>`, "<mo>:</mo>",
      `${mn(info.w[i])}<mo>&#x2212;</mo>${eta}<mo>&#x22C5;</mo>${mn(u.gradient[i])}<mo>=</mo><mn>${esc(num(u.W_next[i]))}</mn>`]);
    step.push(["<mi>b</mi>", "<mo>:</mo>", `${mn(info.b)}<mo>&#x2212;</mo>${eta}<mo>&#x22C5;</mo>${mn(info.db)}<mo>=</mo><mn>${esc(num(u.b_next))}</mn>`]);
    html += `<div class="step">${math(step)}</div>`;
  }
  // The same numbers as plain text, to copy.
  html += `<details><summary>as text</summary><pre>${esc(`${name} (${info.activation}), training sample ${info.sample}, epoch ${info.epoch}\n${info.formula}\n${info.activation_formula}\n${info.backward ? `backward: ${info.backward}` : ""}`)}</pre></details>`;
  return html;
}
async function showFormula() {
  const target = pinned || hovered;
  if (!target || !meta) return;
  const [layer, unit] = target;
  formulaPending = true;
  let r, info;
  try {
    r = await fetch(api(`/api/neuron?layer=${layer}&unit=${unit}&sample=${selectedSample}`));
    info = await r.json();
  } finally { formulaPending = false; }
  if (!r.ok) { $("formula").textContent = info.error; return; }
  const name = layer === meta.settings.hidden.length ? `output ${unit + 1}` : `hidden layer ${layer + 1}, neuron ${unit + 1}`;
  $("formula").innerHTML = inspectorHtml(info, name);
  $("pin").addEventListener("click", () => togglePin(layer, unit));
  $("edit-bias").addEventListener("click", (e) => editWeight(layer, "b", unit, 0, e));
}

// ------------------------------------------------------------------ the stream
let connectionLost = false;
let drawScheduled = false;
function listen() {
  const source = new EventSource(api("/api/frames"));
  source.onerror = () => { connectionLost = true; $("connection").hidden = false; };
  source.onopen = async () => {
    if (!connectionLost) return;
    // The server is back (perhaps a new one, which never saw this run): restore the network
    // this page's URL describes.
    connectionLost = false;
    $("connection").hidden = true;
    const values = readUrl();
    await loadState((Object.keys(values).length && await post("/api/settings", values)) || undefined);
  };
  source.addEventListener("frame", async (e) => {
    const f = JSON.parse(e.data);
    if (!meta || f.session !== meta.session) { frame = f; await loadState(); return; }
    if (!curve.length || curve[curve.length - 1][0] !== f.epoch) curve.push([f.epoch, f.train_loss, f.test_loss]);
    else curve[curve.length - 1] = [f.epoch, f.train_loss, f.test_loss];
    // Draw only the newest frame: frames that arrive while one is being drawn replace each
    // other instead of queueing (the pause button then shows at once, not seconds later).
    if (holding && f.status === "playing") return;     // the run is stopping: the picture stands
    holding = false;
    frame = f;
    if (!drawScheduled) {
      drawScheduled = true;
      requestAnimationFrame(() => { drawScheduled = false; render(); });
    }
  });
}

// ------------------------------------------------------------------ data set pictures
let thumbnails = {};      // {name: [[x1, x2, label], ...]} (GET /api/thumbnails)
function drawThumbnails() {
  const root = $("thumbnails");
  if (!meta || !Object.keys(thumbnails).length) return;
  const names = OPTIONS[meta.task];
  if (root.dataset.task !== meta.task) {
    root.dataset.task = meta.task;
    root.innerHTML = "";
    for (const name of names) {
      const c = document.createElement("canvas");
      c.width = c.height = 60;
      c.dataset.name = name;
      c.setAttribute("role", "button");
      c.setAttribute("aria-label", `data set ${DATASET_NAMES[name] || name}`);
      c.title = DATASET_NAMES[name] || name;
      c.addEventListener("click", () => {
        const values = { dataset: name };
        if (name === "blobs") values.head = "softmax";
        changeSettings(values);
      });
      const ctx = c.getContext("2d");
      const points = thumbnails[name] || [];
      let lim = 1e-9;
      for (const [a, b] of points) lim = Math.max(lim, Math.abs(a), Math.abs(b));
      for (const [a, b, t] of points) {
        ctx.fillStyle = meta.task === "regression" ? `rgb(${DIVERGING[Math.round(((Math.max(-1, Math.min(1, t)) + 1) / 2) * 255)].join(",")})`
          : name === "blobs" ? PALETTE[t % PALETTE.length] : (t === 1 ? "#0877bd" : "#f59322");
        ctx.fillRect(30 + (a / lim) * 27 - 1.5, 30 - (b / lim) * 27 - 1.5, 3, 3);
      }
      root.appendChild(c);
    }
  }
  for (const c of root.querySelectorAll("canvas")) c.classList.toggle("chosen", c.dataset.name === meta.settings.dataset);
}

// ------------------------------------------------------------------ the output map's frame
// Axes on the map (the plane's coordinates) and a legend of its colours.
function drawAxes(canvas) {
  const c = canvas.getContext("2d"), [lo1, hi1, lo2, hi2] = meta.domain;
  const step = (hi1 - lo1) > 8 ? 2 : (hi1 - lo1) > 3 ? 1 : 0.5;
  c.font = "10px system-ui, sans-serif"; c.lineWidth = 3; c.strokeStyle = "rgba(255,255,255,.85)"; c.fillStyle = "#333";
  for (let v = Math.ceil(lo1 / step) * step; v <= hi1 + 1e-9; v += step) {
    const [x] = toCanvas(canvas, v, lo2);
    c.fillRect(x, canvas.height - 4, 1, 4);
    if (v > lo1 + 1e-9 && v < hi1 - 1e-9) { c.strokeText(String(+v.toFixed(1)), x - 5, canvas.height - 6); c.fillText(String(+v.toFixed(1)), x - 5, canvas.height - 6); }
  }
  for (let v = Math.ceil(lo2 / step) * step; v <= hi2 + 1e-9; v += step) {
    const [, y] = toCanvas(canvas, lo1, v);
    c.fillRect(0, y, 4, 1);
    if (v > lo2 + 1e-9 && v < hi2 - 1e-9) { c.strokeText(String(+v.toFixed(1)), 6, y + 3); c.fillText(String(+v.toFixed(1)), 6, y + 3); }
  }
  c.strokeText("x1", canvas.width - 16, canvas.height - 6); c.fillText("x1", canvas.width - 16, canvas.height - 6);
  c.strokeText("x2", 6, 11); c.fillText("x2", 6, 11);
}
function drawLegend(output) {
  const canvas = $("legend"), c = canvas.getContext("2d"), w = canvas.width;
  c.clearRect(0, 0, w, canvas.height);
  c.font = "10px system-ui, sans-serif"; c.fillStyle = "#555";
  if (output.kind === "classes") {
    const n = meta.n_classes, width = Math.min(60, (w - 10) / n);
    for (let k = 0; k < n; k++) {
      c.fillStyle = PALETTE[k % PALETTE.length]; c.fillRect(5 + k * width, 4, 12, 12);
      c.fillStyle = "#555"; c.fillText(`class ${k}`, 20 + k * width, 14);
    }
    c.fillText("paler: less sure (the winning class's probability)", 5, 27);
    return;
  }
  for (let x = 0; x < w - 10; x++) {
    c.fillStyle = `rgb(${DIVERGING[Math.round((x / (w - 11)) * 255)].join(",")})`;
    c.fillRect(5 + x, 3, 1, 11);
  }
  c.fillStyle = "#555";
  const [left, middle, right] = output.kind === "value" ? ["-1", "0 (predicted value)", "1"] : ["class 0 (p = 0)", "p = 0.5", "class 1 (p = 1)"];
  c.fillText(left, 5, 26);
  c.fillText(middle, w / 2 - c.measureText(middle).width / 2, 26);
  c.fillText(right, w - 5 - c.measureText(right).width, 26);
}

async function main() {
  setupControls();
  fetch("/api/thumbnails").then((r) => r.json()).then((t) => { thumbnails = t; drawThumbnails(); });
  const values = readUrl();
  if (Object.keys(values).length) {
    const state = await post("/api/settings", values);
    await loadState(state || undefined);
  } else {
    await loadState();
  }
  listen();
  // Any change of the drawing's size (the window, the pictures of the data sets arriving, a
  // scroll bar) moves the nodes: the links and their hover strips follow.
  new ResizeObserver(() => requestAnimationFrame(drawLinks)).observe($("graph"));
}
main();

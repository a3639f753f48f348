// colorsplash web page: pick or drop a photo, preview the splash, tune it, download it at full size.
// Previews use a copy scaled to PREVIEW_MAX pixels (fast); the download sends the original file.
// All requests go to this server's /api (relative URLs, so the page also works behind a path prefix).
"use strict";

const PREVIEW_MAX = 1600;   // longest side of the preview sent while tuning, in pixels
const DEBOUNCE_MS = 200;    // wait for a slider to settle before asking for a new preview

const $ = (id) => document.getElementById(id);
const state = {
  file: null,        // the picked File (full resolution, sent for the download)
  preview: null,     // Blob sent for previews (the file itself when small enough)
  scale: 1,          // preview pixels per full-resolution pixel
  width: 0,          // full-resolution size, orientation-corrected (what the server sees)
  height: 0,
  point: null,       // chosen subject as fractions [x, y] of the width and height, or null
  seq: 0,            // number of the latest preview request; older answers are dropped
  controller: null,  // AbortController of the preview request in flight
  resultUrl: null,
  originalUrl: null,
};

function setStatus(text, isError = false) {
  const el = $("status");
  el.textContent = text;
  el.classList.toggle("error", isError);
}

async function errorText(resp) {
  try {
    const body = await resp.json();
    return body.error || resp.statusText;
  } catch (_) {
    return `${resp.status} ${resp.statusText}`;
  }
}

function effectValue() {
  const effect = $("effect").value;
  return effect === "color" ? `color:${$("color").value}` : effect;
}

// The options for a request at `scale` (pixel-valued options are scaled to the size sent).
function optionParams(scale) {
  const p = new URLSearchParams();
  p.set("effect", effectValue());
  p.set("feather", String(Number($("feather").value) * scale));
  if ($("use-threshold").checked) p.set("threshold", $("threshold").value);
  p.set("invert", $("invert").checked ? "true" : "false");
  p.set("keep", $("keep").value);
  if (state.point) {
    const w = Math.round(state.width * scale), h = Math.round(state.height * scale);
    const x = Math.min(w - 1, Math.floor(state.point[0] * w));
    const y = Math.min(h - 1, Math.floor(state.point[1] * h));
    p.set("point", `${x},${y}`);
  }
  return p;
}

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error("the browser cannot show this picture"));
    img.src = url;
  });
}

// A JPEG copy at most PREVIEW_MAX pixels long (drawn upright: browsers apply EXIF orientation).
async function makePreview(img, file) {
  const longest = Math.max(img.naturalWidth, img.naturalHeight);
  if (longest <= PREVIEW_MAX) return { blob: file, scale: 1 };
  const scale = PREVIEW_MAX / longest;
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(img.naturalWidth * scale);
  canvas.height = Math.round(img.naturalHeight * scale);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";  // transparent pixels become white, as the server does
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.92));
  return { blob: blob || file, scale: blob ? canvas.width / img.naturalWidth : 1 };
}

async function openFile(file) {
  if (!file) return;
  if (state.originalUrl) URL.revokeObjectURL(state.originalUrl);
  Object.assign(state, { file, point: null, preview: file, scale: 1, width: 0, height: 0 });
  state.originalUrl = URL.createObjectURL(file);
  $("drop").hidden = true;
  $("workspace").hidden = false;
  $("marker").hidden = true;
  $("clear-point").disabled = true;
  $("download").disabled = true;
  $("result").removeAttribute("src");
  setStatus(`Opening ${file.name}…`);
  try {
    const img = await loadImage(state.originalUrl);
    $("original").src = state.originalUrl;
    Object.assign(state, { width: img.naturalWidth, height: img.naturalHeight });
    const preview = await makePreview(img, file);
    Object.assign(state, { preview: preview.blob, scale: preview.scale });
  } catch (_) {
    // Pictures the browser cannot show (TIFF, ...) still go to the server, which reads more formats.
    $("original").removeAttribute("src");
  }
  await render();
}

async function render() {
  if (!state.file) return;
  const seq = ++state.seq;
  if (state.controller) state.controller.abort();
  state.controller = new AbortController();
  $("busy").hidden = false;
  const body = new FormData();
  body.append("file", state.preview, state.file.name);
  const started = performance.now();
  try {
    const resp = await fetch(`api/splash?${optionParams(state.scale)}`,
      { method: "POST", body, signal: state.controller.signal });
    if (!resp.ok) throw new Error(await errorText(resp));
    const blob = await resp.blob();
    if (seq !== state.seq) return;
    if (state.resultUrl) URL.revokeObjectURL(state.resultUrl);
    state.resultUrl = URL.createObjectURL(blob);
    const result = $("result");
    await new Promise((resolve) => { result.onload = resolve; result.onerror = resolve; result.src = state.resultUrl; });
    result.dataset.seq = String(seq);
    $("download").disabled = false;
    const size = state.width ? ` · full size ${state.width}×${state.height}` : "";
    setStatus(`Ready in ${Math.round(performance.now() - started)} ms${size}`);
  } catch (err) {
    if (err.name === "AbortError" || seq !== state.seq) return;
    setStatus(`Could not make the splash: ${err.message}`, true);
  } finally {
    if (seq === state.seq) $("busy").hidden = true;
  }
}

let debounceTimer = 0;
function renderSoon() {
  clearTimeout(debounceTimer);
  debounceTimer = setTimeout(render, DEBOUNCE_MS);
}

async function download() {
  const button = $("download");
  button.disabled = true;
  setStatus("Making the full-size splash…");
  const params = optionParams(1);
  if ($("effect").value === "transparent") params.set("format", "png");
  const body = new FormData();
  body.append("file", state.file, state.file.name);
  try {
    const resp = await fetch(`api/splash?${params}`, { method: "POST", body });
    if (!resp.ok) throw new Error(await errorText(resp));
    const blob = await resp.blob();
    const ext = { "image/png": "png", "image/webp": "webp" }[blob.type] || "jpg";
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = `${state.file.name.replace(/\.[^.]*$/, "")}-splash.${ext}`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60000);
    setStatus(`Downloaded ${link.download}`);
  } catch (err) {
    setStatus(`Download failed: ${err.message}`, true);
  } finally {
    button.disabled = false;
  }
}

function choosePoint(event) {
  const img = $("original");
  const rect = img.getBoundingClientRect();
  if (!state.width || rect.width === 0) return;
  const fx = Math.min(1, Math.max(0, (event.clientX - rect.left) / rect.width));
  const fy = Math.min(1, Math.max(0, (event.clientY - rect.top) / rect.height));
  state.point = [fx, fy];
  const marker = $("marker");
  marker.style.left = `${fx * 100}%`;
  marker.style.top = `${fy * 100}%`;
  marker.hidden = false;
  $("clear-point").disabled = false;
  render();
}

function clearPoint() {
  state.point = null;
  $("marker").hidden = true;
  $("clear-point").disabled = true;
  render();
}

function updateLabels() {
  $("feather-out").textContent = `${$("feather").value} px`;
  const useThreshold = $("use-threshold").checked;
  $("threshold").disabled = !useThreshold;
  $("threshold-out").textContent = useThreshold ? Number($("threshold").value).toFixed(2) : "soft";
  $("color-wrap").hidden = $("effect").value !== "color";
}

async function showModel() {
  try {
    const resp = await fetch("api/health");
    const health = await resp.json();
    const m = health.model;
    $("model-info").textContent = `model: ${m.name} (${m.subject}, ${m.input_size}px)`;
  } catch (_) {
    $("model-info").textContent = "server not reachable";
  }
}

function wireDrop() {
  const drop = $("drop");
  document.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  document.addEventListener("dragleave", (e) => { if (!e.relatedTarget) drop.classList.remove("over"); });
  document.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files.length) openFile(e.dataTransfer.files[0]);
  });
}

function init() {
  $("file").addEventListener("change", (e) => openFile(e.target.files[0]));
  $("another").addEventListener("click", () => { $("file").value = ""; $("file").click(); });
  $("original").addEventListener("click", choosePoint);
  $("clear-point").addEventListener("click", clearPoint);
  $("download").addEventListener("click", download);
  for (const id of ["effect", "color", "keep", "invert", "use-threshold"]) {
    $(id).addEventListener("change", () => { updateLabels(); render(); });
  }
  for (const id of ["feather", "threshold"]) {
    $(id).addEventListener("input", () => { updateLabels(); renderSoon(); });
  }
  $("controls").addEventListener("submit", (e) => e.preventDefault());
  wireDrop();
  updateLabels();
  showModel();
}

init();

// colorsplash web page: pick or drop a photo, preview the splash, tune it, compare, look at 100 %, download.
// Previews use a copy scaled to PREVIEW_MAX pixels (fast); the 100 % view and the download send the original file
// (one request, shared while the options stay the same). All requests go to this server's /api (relative URLs,
// so the page also works behind a path prefix).
"use strict";

const PREVIEW_MAX = 1600;   // longest side of the preview sent while tuning, in pixels
const DEBOUNCE_MS = 200;    // wait for a slider to settle before asking for a new preview
const KEY_STEP = 0.02;      // arrow-key move of the subject ring, as a fraction of the photo (Shift: 5x)
// Phones and tablets: "tap" instead of "click".
const TOUCH = window.matchMedia("(pointer: coarse)").matches;

const $ = (id) => document.getElementById(id);
const state = {
  file: null,        // the picked File (full resolution, sent for the 100 % view and the download)
  preview: null,     // Blob sent for previews (the file itself when small enough)
  scale: 1,          // preview pixels per full-resolution pixel
  width: 0,          // full-resolution size, orientation-corrected (what the server sees)
  height: 0,
  point: null,       // chosen subject as fractions [x, y] of the width and height, or null
  cursor: [0.5, 0.5],  // the keyboard ring, as fractions
  seq: 0,            // number of the latest preview request; older answers are dropped
  fullSeq: 0,        // number of the latest 100 % view request; older answers are dropped
  openSeq: 0,        // number of the latest openFile call; an older call, still loading, must change nothing
  controller: null,  // AbortController of the preview request in flight
  copyController: null,  // AbortController of the request for a viewable copy (a picture the browser cannot show)
  resultUrl: null,
  originalUrl: null,
  full: null,        // {key, file, url, name}: the full-size result of the options in `key`
  zoom: false,
  compare: false,
  limits: null,      // the server's limits from /api/health: {max_upload_bytes, max_pixels, ...}
  subject: "subject", // what the model finds, from /api/health ("pet"; a trained model's --subject)
  tooBig: false,     // the photo is over a limit: the full-size download and the 100 % view would be refused
  decoded: false,    // the browser could read the photo (if not, only the server's answer tells if it is one)
  gotResult: false,  // the server has made a result for this photo
  strengths: {},     // the strength last set for each effect: going back to an effect brings its own back
};

const pct = (v) => `${Math.round(v * 100)} %`;
// Effect strength, in the names the CLI and the API use (grey:AMOUNT, dim:AMOUNT, blur:RADIUS, color:#RRGGBBAA).
// `plain` is the value that gives the effect's usual look, sent as the bare effect name.
const STRENGTH = {
  grey: { min: 0, max: 1, step: 0.05, plain: 1, show: pct, param: (v) => `grey:${v}` },
  dim: { min: 0, max: 1, step: 0.05, plain: 0.6, show: pct, param: (v) => `dim:${v}` },
  blur: { min: 0, max: 100, step: 1, plain: 0, show: (v) => (v === 0 ? "auto" : `${v} px`),
    param: (v, scale) => `blur:${Number((v * scale).toFixed(2))}` },
  color: { min: 0, max: 1, step: 0.05, plain: 1, show: pct,
    param: (v) => `color:${$("color").value}${Math.round(v * 255).toString(16).padStart(2, "0")}` },
};

function setStatus(text, isError = false) {
  const el = $("status");
  el.textContent = text;
  el.classList.toggle("error", isError);
}

// Show `el` with `text` (or hide it when text is empty); scroll it into view when it newly says something,
// so that on a phone it is not left below the screen.
function showMessage(el, text) {
  const changed = el.textContent !== text || el.hidden;
  el.textContent = text;
  el.hidden = !text;
  if (text && changed) el.scrollIntoView({ block: "nearest" });
}

// Back to the drop zone with a notice: the file could not be opened (empty, or not a photo).
function openFailed(text) {
  state.openSeq++;
  state.file = null;
  if (state.controller) state.controller.abort();
  if (state.copyController) state.copyController.abort();
  $("busy").hidden = true;
  $("workspace").hidden = true;
  $("drop").hidden = false;
  showMessage($("open-error"), text);
}

const megabytes = (bytes) => `${Number((bytes / 2 ** 20).toFixed(1))} MB`;
const megapixels = (pixels) => `${Number((pixels / 1e6).toFixed(1))} megapixels`;

// Why the server will refuse this photo at full size, in the user's words, or "" (limits from /api/health).
function limitProblem(file, width, height) {
  const limits = state.limits;
  if (!limits) return "";
  if (file.size > limits.max_upload_bytes) {
    return `This photo is ${megabytes(file.size)}; this server accepts photos up to ${megabytes(limits.max_upload_bytes)}.`;
  }
  if (width * height > limits.max_pixels) {
    return `This photo has ${megapixels(width * height)}; this server accepts up to ${megapixels(limits.max_pixels)}.`;
  }
  return "";
}

const CHOOSE_SMALLER = " Choose a smaller photo.";

// Say at once when the full size will be refused (not only at "Download full size").
function checkLimits(file) {
  const problem = limitProblem(file, state.width, state.height);
  state.tooBig = Boolean(problem);
  // The preview is a smaller copy when the browser could scale it; then previews still work.
  const rest = state.preview !== file ? " You can try the settings here, but the full-size download and the " +
    "100 % view will not work. Choose a smaller photo for those." : CHOOSE_SMALLER;
  showMessage($("limit-note"), problem ? problem + rest : "");
}

// Why the server refused (413) a photo the browser cannot show, whose pixels the page does not know: its size
// when that is over the limit, else the limits themselves (the server's own words only if they are unknown).
function tooLargeWords(file, err) {
  const limits = state.limits;
  const words = limitProblem(file, 0, 0) || (limits ? "This photo is too large for this server, which accepts " +
    `photos up to ${megapixels(limits.max_pixels)} and ${megabytes(limits.max_upload_bytes)}.`
    : `This photo is too large for this server (it says: ${err.message}).`);
  return words + CHOOSE_SMALLER;
}

// Neither the browser nor the server can open `file` (`err`: the server's refusal): back to the drop zone,
// saying why in the user's words: too large, with the limit (413), or not a photo.
function cannotOpen(file, err) {
  if (err.status === 413) {
    const words = tooLargeWords(file, err);
    openFailed(words);
    setStatus(words, true);
    return;
  }
  openFailed(`"${file.name}" isn't a photo that can be opened here (the server says: ${err.message}). ` +
    "Choose a JPEG, PNG or WebP photo.");
  setStatus(`Could not make the splash: ${err.message}`, true);
}

async function readError(resp) {
  try {
    const body = await resp.json();
    return { message: body.error || resp.statusText, subject: body.subject || null };
  } catch (_) {
    return { message: `${resp.status} ${resp.statusText}`, subject: null };
  }
}

// A refused request: the server's words, its `subject` field and the HTTP status (0: not from a response).
class RequestError extends Error {
  constructor(info, status = 0) { super(info.message); this.subject = info.subject; this.status = status; }
}

const BUSY_TRIES = 4;  // a 503 (the server's memory budget is full of other photos) is tried again this often
const BUSY_WAIT_MAX_S = 15;

// POST a photo to the server; while it answers 503 (busy), wait as its Retry-After says and try again,
// saying so, instead of failing at once with the operator's message. Returns the last response.
async function postPhoto(url, body, signal = undefined) {
  for (let attempt = 1; ; attempt++) {
    const resp = await fetch(url, { method: "POST", body, signal });
    if (resp.status !== 503 || attempt >= BUSY_TRIES) return resp;
    const wait = Math.min(BUSY_WAIT_MAX_S, Math.max(1, Number(resp.headers.get("Retry-After")) || 2));
    setStatus(`The server is busy with other photos; trying again in ${wait} s…`);
    await new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, wait * 1000);
      if (signal) signal.addEventListener("abort", () => { clearTimeout(timer); reject(signal.reason); });
    });
  }
}

// The error of a failed request, in words for the person at the page when the server is only busy.
async function requestError(resp) {
  if (resp.status === 503) {
    return new RequestError({ message: "the server is busy with other photos; try again in a moment", subject: null },
      503);
  }
  return new RequestError(await readError(resp), resp.status);
}

function effectValue(scale) {
  const effect = $("effect").value;
  const base = effect === "color" ? `color:${$("color").value}` : effect;
  const strength = STRENGTH[effect];
  const v = Number($("strength").value);
  return !strength || v === strength.plain ? base : strength.param(v, scale);
}

// The options for a request at `scale` (pixel-valued options are scaled to the size sent).
function optionParams(scale) {
  const p = new URLSearchParams();
  p.set("effect", effectValue(scale));
  p.set("feather", String(Number($("feather").value) * scale));
  if ($("use-threshold").checked) p.set("threshold", $("threshold").value);
  p.set("hard", $("hard").checked ? "true" : "false");
  p.set("refine", $("refine").checked ? "true" : "false");
  p.set("invert", $("invert").checked ? "true" : "false");
  p.set("keep", $("keep").value);
  p.set("on-empty", $("on-empty").value);
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

// A JPEG copy at most PREVIEW_MAX pixels long (drawn upright: browsers apply EXIF orientation); `file`, the
// picture `img` shows, when it is no longer.
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
  if (file.size === 0) {
    openFailed(`"${file.name}" is empty (0 bytes), so there is no photo in it. Choose another file.`);
    return;
  }
  // A photo picked while another is still loading replaces it: the older call stops at its next await, and its
  // request for a viewable copy is cancelled (not uploaded, nor retried while the server is busy).
  const opening = ++state.openSeq;
  if (state.copyController) state.copyController.abort();
  if (state.originalUrl) URL.revokeObjectURL(state.originalUrl);
  if (state.full) URL.revokeObjectURL(state.full.url);
  Object.assign(state, { file, point: null, preview: file, scale: 1, width: 0, height: 0, full: null,
    cursor: [0.5, 0.5], tooBig: false, decoded: false, gotResult: false });
  state.originalUrl = URL.createObjectURL(file);
  showMessage($("open-error"), "");
  showMessage($("limit-note"), "");
  $("marker").hidden = true;
  $("clear-point").disabled = true;
  $("download").disabled = true;
  $("zoom").disabled = true;  // the previous photo's 100 % view is gone
  $("result").removeAttribute("src");
  $("result").hidden = true;  // no broken-image icon, nor the previous photo's splash, until this one's
  setZoom(false);
  setCompare(false);
  showNotice(null);
  setStatus(`Opening ${file.name}…`);
  let shown = false;
  try {
    shown = await showPicture(state.originalUrl, file, file, opening);
  } catch (_) {
    if (opening !== state.openSeq) return;
    shown = await openOnServer(file, opening);
  }
  if (opening !== state.openSeq) return;
  $("compare").disabled = !shown;
  await render();
}

// Show the picture at `url` (`blob`'s) as the photo `file` and make its preview copy; false when another photo
// was picked meanwhile. Rejects when the browser cannot read the picture.
async function showPicture(url, blob, file, opening) {
  const img = await loadImage(url);
  if (opening !== state.openSeq) return false;
  // The browser can read it: show the editor now (otherwise only once the server has made a result).
  state.decoded = true;
  showWorkspace();
  for (const id of ["original", "before", "full-before"]) $(id).src = url;
  showPending();
  $("busy").hidden = false;  // a large photo's preview copy takes a moment before the request is even sent
  Object.assign(state, { width: img.naturalWidth, height: img.naturalHeight });
  const preview = await makePreview(img, blob);
  if (opening !== state.openSeq) return false;
  Object.assign(state, { preview: preview.blob, scale: preview.scale });
  checkLimits(file);
  return true;
}

// Pictures the browser cannot show (an iPhone's HEIC, TIFF, ...) still go to the server, which reads more
// formats: its copy stands in for the photo on screen and, scaled, for the previews. True when the copy is shown;
// false when not (the preview request then says why, or another photo was picked meanwhile). A photo the server
// refuses (already over the upload limit here: not sent at all) goes back to the drop zone with the reason.
async function openOnServer(file, opening) {
  if (limitProblem(file, 0, 0)) {  // its pixels are unknown until the server reads it; its size is enough
    cannotOpen(file, new RequestError({ message: "over the upload limit", subject: null }, 413));
    return false;
  }
  setStatus(`Opening ${file.name} on the server (this browser cannot show it)…`);
  state.copyController = new AbortController();
  const copy = await viewableCopy(file, state.copyController.signal);
  if (opening !== state.openSeq) return false;
  if (copy instanceof RequestError && (copy.status === 413 || copy.status === 415)) {
    cannotOpen(file, copy);  // the same file again as the preview would be refused the same way
    return false;
  }
  let shown = false;
  if (copy instanceof Blob) {
    URL.revokeObjectURL(state.originalUrl);
    state.originalUrl = URL.createObjectURL(copy);
    shown = await showPicture(state.originalUrl, copy, file, opening).catch(() => false);
  }
  if (!shown && opening === state.openSeq) {
    for (const id of ["original", "before", "full-before"]) $(id).removeAttribute("src");
    checkLimits(file);
  }
  return shown;
}

// A copy the browser can show of a picture it cannot read: the server's /api/view (no model run), upright, full
// size (it is also the 100 % view's "before"), as JPEG with the photo's colour profile. The server's refusal (a
// RequestError) when it cannot make one; null when cancelled (`signal`) or the server is unreachable.
async function viewableCopy(file, signal) {
  const body = new FormData();
  body.append("file", file, file.name);
  try {
    const resp = await postPhoto("api/view", body, signal);
    return resp.ok ? await resp.blob() : await requestError(resp);
  } catch (_) {
    return null;
  }
}

// While this photo has no splash yet, the Splash pane shows the photo itself, faded under the spinner (not an
// empty box, nor a broken-image icon); a picture the browser cannot show leaves the pane empty until the result.
function showPending() {
  const result = $("result");
  if (!state.decoded || !result.hidden) return;
  result.src = state.originalUrl;
  result.alt = "Original photo, while its colour splash is being made";
  result.classList.add("pending");
  delete result.dataset.seq;  // no result of a request is shown
  result.hidden = false;
}

function showWorkspace() {
  $("drop").hidden = true;
  $("workspace").hidden = false;
}

// The no-subject notice: what the server's X-Colorsplash-Subject header (or its error) said.
function showNotice(subject, score = null, onEmpty = "grey") {
  const notice = $("notice");
  notice.classList.remove("error");
  if (subject !== "none") {
    showMessage(notice, "");
    return;
  }
  const sure = score === null ? "" : ` (subject score ${Number(score).toFixed(2)})`;
  // Inverted, a photo with no subject is all background, which Invert keeps in colour (the server's one policy).
  const grey = $("invert").checked ? "so, inverted, all of it is background: shown unchanged"
    : "so the whole photo got the background effect";
  const what = { grey, copy: "so the photo is shown unchanged", skip: "so nothing was made" }[onEmpty] || "";
  const pick = TOUCH ? "Tap" : "Click";
  // A chosen point overrules the photo-level "no subject" judgement (the server's --point); the threshold only
  // helps when the user has set one.
  const threshold = $("use-threshold").checked ? ", lower the threshold" : "";
  const word = state.subject;  // the model's own word ("pet", "red car"), as the CLI and the HTTP API say it
  showMessage(notice, `No ${word} found in this photo${sure}, ${what}. ${pick} the ${word} to colour it ` +
    `anyway${threshold}, or try another photo.`);
}

async function render() {
  if (!state.file) return;
  const seq = ++state.seq;
  if (state.controller) state.controller.abort();
  state.controller = new AbortController();
  $("busy").hidden = false;
  showPending();  // after a failed preview too (no subject with "show an error"), while the next one is made
  const body = new FormData();
  body.append("file", state.preview, state.file.name);
  const onEmpty = $("on-empty").value;
  const started = performance.now();
  try {
    const resp = await postPhoto(`api/splash?${optionParams(state.scale)}`, body, state.controller.signal);
    if (!resp.ok) throw await requestError(resp);
    const blob = await resp.blob();
    if (seq !== state.seq) return;
    if (state.resultUrl) URL.revokeObjectURL(state.resultUrl);
    state.resultUrl = URL.createObjectURL(blob);
    const result = $("result");
    await new Promise((resolve) => { result.onload = resolve; result.onerror = resolve; result.src = state.resultUrl; });
    result.dataset.seq = String(seq);
    result.alt = "Colour splash result";
    result.classList.remove("pending");
    result.hidden = false;
    state.gotResult = true;
    showWorkspace();
    showNotice(resp.headers.get("X-Colorsplash-Subject"), resp.headers.get("X-Colorsplash-Subject-Score"), onEmpty);
    $("download").disabled = state.tooBig;
    $("zoom").disabled = state.tooBig;
    const size = state.width ? ` · full size ${state.width}×${state.height}` : "";
    setStatus(`Ready in ${Math.round(performance.now() - started)} ms${size}`);
    if (state.zoom) showFull();
  } catch (err) {
    if (err.name === "AbortError" || seq !== state.seq) return;
    if (!state.decoded && !state.gotResult) {
      cannotOpen(state.file, err);  // neither the browser nor the server could read it (or it is too large)
      return;
    }
    // The picture on screen must not disagree with the message: no old result, nothing to download.
    $("result").hidden = true;
    $("download").disabled = true;
    $("zoom").disabled = true;
    if (state.zoom) setZoom(false);
    if (err.subject === "none") showNotice("none", null, onEmpty);
    else {
      showMessage($("notice"), `Could not make the splash: ${err.message}`);
      $("notice").classList.add("error");
    }
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

// NAME.splash.EXT, as the CLI names its outputs (the server says it; computed here if it does not).
function resultName(resp, blob) {
  const header = resp.headers.get("Content-Disposition") || "";
  const match = /filename\*=UTF-8''([^;]+)/i.exec(header);
  if (match) return decodeURIComponent(match[1]);
  const ext = { "image/png": "png", "image/webp": "webp" }[blob.type] || "jpg";
  return `${state.file.name.replace(/\.[^.]*$/, "")}.splash.${ext}`;
}

// The query of the full-size request for the current options; it names the cached result.
function fullParams() {
  const params = optionParams(1);
  if ($("effect").value === "transparent") params.set("format", "png");
  return params;
}

// The full-size result of the current options (fetched once per set of options and photo).
async function fullResult() {
  const params = fullParams();
  const key = params.toString();
  const file = state.file;
  if (state.full && state.full.key === key && state.full.file === file) return state.full;
  const body = new FormData();
  body.append("file", file, file.name);
  const resp = await postPhoto(`api/splash?${params}`, body);
  if (!resp.ok) throw await requestError(resp);
  const blob = await resp.blob();
  const result = { key, file, url: URL.createObjectURL(blob), name: resultName(resp, blob) };
  // Cache it only while its options are still the current ones: a late answer for older settings must not
  // replace (and revoke) the result of the newer ones.
  if (file === state.file && key === fullParams().toString()) {
    if (state.full) URL.revokeObjectURL(state.full.url);
    state.full = result;
  }
  return result;
}

async function download() {
  const button = $("download");
  button.disabled = true;
  setStatus("Making the full-size splash…");
  try {
    const full = await fullResult();
    const link = document.createElement("a");
    link.href = full.url;
    link.download = full.name;
    document.body.append(link);
    link.click();
    link.remove();
    // Not cached (the settings changed meanwhile): free it once the browser has taken the download.
    if (full !== state.full) setTimeout(() => URL.revokeObjectURL(full.url), 60_000);
    setStatus(`Downloaded ${full.name}`);
  } catch (err) {
    setStatus(`Download failed: ${err.message}`, true);
  } finally {
    button.disabled = false;
  }
}

// 100 % view: the full-size result, one photo pixel per CSS pixel, scrolled to the subject point or the middle.
async function showFull() {
  const seq = ++state.fullSeq;
  setStatus("Making the full-size splash for the 100 % view…");
  if (!state.full || $("full").getAttribute("src") !== state.full.url) showFullPending();
  $("full-busy").hidden = false;
  try {
    const full = await fullResult();
    // Settings (or the photo, or the view) changed while this was made: a newer call shows its own answer.
    if (full !== state.full) { URL.revokeObjectURL(full.url); return; }  // for older settings: dropped
    if (seq !== state.fullSeq) return;
    const img = $("full");
    if (img.getAttribute("src") !== full.url) {
      await new Promise((resolve) => { img.onload = resolve; img.onerror = resolve; img.src = full.url; });
      if (seq !== state.fullSeq) return;
    }
    img.classList.remove("pending");
    img.alt = "Colour splash at 100 %";
    img.hidden = false;
    scrollFull();
    setStatus(`100 % view: ${img.naturalWidth}×${img.naturalHeight}; scroll to look around`);
  } catch (err) {
    if (seq !== state.fullSeq) return;
    if ($("full").classList.contains("pending")) $("full").hidden = true;  // no photo that looks like a result
    setStatus(`Could not make the full-size splash: ${err.message}`, true);
  } finally {
    if (seq === state.fullSeq) $("full-busy").hidden = true;
  }
}

// Until this photo's first full-size splash arrives, the 100 % view shows the photo itself at 100 %, faded
// under the spinner (not a broken-image icon, nor the previous photo's splash).
function showFullPending() {
  const img = $("full");
  img.hidden = !state.decoded;
  if (state.decoded) img.src = state.originalUrl;
  else img.removeAttribute("src");
  img.alt = "Original photo at 100 %, while its full-size splash is being made";
  img.classList.add("pending");
  if (state.decoded) img.decode().then(scrollFull, () => {});  // a photo the same size as the splash to come
}

// The 100 % view scrolled to the subject point, or to the middle.
function scrollFull() {
  const img = $("full"), frame = $("full-frame");
  const [fx, fy] = state.point || [0.5, 0.5];
  frame.scrollLeft = fx * img.naturalWidth - frame.clientWidth / 2;
  frame.scrollTop = fy * img.naturalHeight - frame.clientHeight / 2;
}

function setZoom(on) {
  state.zoom = on;
  state.fullSeq++;  // a 100 % answer still on its way is no longer wanted
  $("zoom").setAttribute("aria-pressed", String(on));
  $("result-frame").hidden = on;
  $("full-frame").hidden = !on;
  $("full-busy").hidden = true;  // shown by showFull while it works
  if (on) showFull();
}

function setCompare(on) {
  state.compare = on;
  $("compare").setAttribute("aria-pressed", String(on));
  $("before").hidden = !on;
  $("full-before").hidden = !on;
}

function placeMarker(id, [fx, fy]) {
  const marker = $(id);
  marker.style.left = `${fx * 100}%`;
  marker.style.top = `${fy * 100}%`;
  marker.hidden = false;
}

function setPoint(point) {
  if (!state.width) return;
  state.point = point;
  state.cursor = point;
  placeMarker("marker", point);
  $("clear-point").disabled = false;
  render();
}

function choosePoint(event) {
  const rect = $("original").getBoundingClientRect();
  if (rect.width === 0) return;
  const fx = Math.min(1, Math.max(0, (event.clientX - rect.left) / rect.width));
  const fy = Math.min(1, Math.max(0, (event.clientY - rect.top) / rect.height));
  setPoint([fx, fy]);
}

// Keyboard: arrows move the ring, Enter or Space chooses the subject under it, Escape clears the choice.
function pickerKey(event) {
  const step = event.shiftKey ? 5 * KEY_STEP : KEY_STEP;
  const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
  const clamp = (v) => Math.min(1, Math.max(0, v));
  if (moves[event.key]) {
    event.preventDefault();
    const [dx, dy] = moves[event.key];
    state.cursor = [clamp(state.cursor[0] + dx), clamp(state.cursor[1] + dy)];
    placeMarker("cursor", state.cursor);
    setStatus(`Ring at ${pct(state.cursor[0])} across, ${pct(state.cursor[1])} down; Enter chooses it`);
  } else if (event.key === "Enter" || event.key === " ") {
    event.preventDefault();
    setPoint(state.cursor);
  } else if (event.key === "Escape" && state.point) {
    event.preventDefault();
    clearPoint();
  }
}

function clearPoint() {
  state.point = null;
  $("marker").hidden = true;
  $("clear-point").disabled = true;
  render();
}

function configureStrength() {
  const strength = STRENGTH[$("effect").value];
  $("strength-wrap").hidden = !strength;
  if (!strength) return;
  const slider = $("strength");
  Object.assign(slider, { min: strength.min, max: strength.max, step: strength.step });
  slider.value = String(state.strengths[$("effect").value] ?? strength.plain);
}

function updateLabels() {
  const feather = `${$("feather").value} px`;
  $("feather-out").textContent = feather;
  $("feather").setAttribute("aria-valuetext", feather);
  const useThreshold = $("use-threshold").checked;
  $("threshold").disabled = !useThreshold;
  $("threshold-out").textContent = useThreshold ? Number($("threshold").value).toFixed(2) : "soft";
  $("color-wrap").hidden = $("effect").value !== "color";
  const strength = STRENGTH[$("effect").value];
  if (strength) {
    const shown = strength.show(Number($("strength").value));
    $("strength-out").textContent = shown;
    $("strength").setAttribute("aria-valuetext", shown);
  }
}

async function showModel() {
  try {
    const resp = await fetch("api/health");
    const health = await resp.json();
    state.limits = health.limits || null;
    const m = health.model;
    state.subject = (m.subject || "").trim() || "subject";
    // What the model does in plain words ("Pet model — cats and dogs"); its internal name for the curious.
    $("model-info").textContent = m.description || m.name;
    $("model-info").title = `${m.name}: ${m.arch}, ${m.input_size} px, ${m.file}`;
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
  // A picture pasted (copied from another program or a screenshot) opens like a dropped one; text pastes into
  // the page's fields as usual.
  document.addEventListener("paste", (e) => {
    const file = [...(e.clipboardData ? e.clipboardData.files : [])].find((f) => f.type.startsWith("image/"));
    if (!file) return;
    e.preventDefault();
    openFile(file);
  });
}

function wirePicker() {
  const picker = $("picker");
  $("point-hint").textContent = `· ${TOUCH ? "tap" : "click"} the subject to keep only it`;
  $("point-keys").hidden = TOUCH;
  $("original").addEventListener("click", choosePoint);
  picker.addEventListener("keydown", pickerKey);
  // The keyboard ring only for keyboard focus: a click or tap focuses the picker too, and chooses its own point.
  picker.addEventListener("focus", () => {
    if (state.width && picker.matches(":focus-visible")) placeMarker("cursor", state.cursor);
  });
  picker.addEventListener("blur", () => { $("cursor").hidden = true; });
}

// "B" toggles before/after (the button's tooltip says so); not while typing in a field or with a modifier key.
function compareKey(event) {
  if (event.key !== "b" && event.key !== "B") return;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.target.closest("input, select, textarea, [contenteditable]")) return;
  if ($("workspace").hidden || $("compare").disabled) return;
  event.preventDefault();
  setCompare(!state.compare);
}

function init() {
  $("file").addEventListener("change", (e) => openFile(e.target.files[0]));
  $("another").addEventListener("click", () => { $("file").value = ""; $("file").click(); });
  $("clear-point").addEventListener("click", clearPoint);
  $("download").addEventListener("click", download);
  $("compare").addEventListener("click", () => setCompare(!state.compare));
  $("zoom").addEventListener("click", () => setZoom(!state.zoom));
  $("effect").addEventListener("change", configureStrength);
  for (const id of ["effect", "color", "keep", "invert", "use-threshold", "hard", "refine", "on-empty"]) {
    $(id).addEventListener("change", () => { updateLabels(); render(); });
  }
  $("strength").addEventListener("input", () => { state.strengths[$("effect").value] = Number($("strength").value); });
  for (const id of ["feather", "threshold", "strength"]) {
    $(id).addEventListener("input", () => { updateLabels(); renderSoon(); });
  }
  $("controls").addEventListener("submit", (e) => e.preventDefault());
  document.addEventListener("keydown", compareKey);
  wirePicker();
  wireDrop();
  configureStrength();
  updateLabels();
  showModel();
}

init();

// Full-size results: the download and the 100 % view (one request per set of options), before/after.

import { $, state, setStatus } from "./state.js";
import { postPhoto, readNotes, requestError } from "./server.js";
import { optionParams } from "./controls.js";
import { showNotes } from "./words.js";

// NAME.splash.EXT, as the CLI names its outputs (the server says it; computed here if it does not).
function resultName(resp, blob, file) {
  const header = resp.headers.get("Content-Disposition") || "";
  const match = /filename\*=UTF-8''([^;]+)/i.exec(header);
  if (match) return decodeURIComponent(match[1]);
  const ext = { "image/png": "png", "image/webp": "webp" }[blob.type] || "jpg";
  return `${file.name.replace(/\.[^.]*$/, "")}.splash.${ext}`;
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
  const result = { key, file, url: URL.createObjectURL(blob), name: resultName(resp, blob, file), notes: readNotes(resp) };
  // Cache it only while its options are still the current ones: a late answer for older settings must not
  // replace (and revoke) the result of the newer ones.
  if (file === state.file && key === fullParams().toString()) {
    if (state.full) URL.revokeObjectURL(state.full.url);
    state.full = result;
    state.resultNotes = result.notes;  // what the downloaded file leaves out, for one
    showNotes();
  }
  return result;
}

// The notes of the full-size result of the current photo and options, [] when it has not been made.
export function fullNotes() {
  const full = state.full;
  return full && full.file === state.file && full.key === fullParams().toString() ? full.notes : [];
}

const downloading = new Set();  // the photos whose full-size download is being made

// The Download button marked busy while the shown photo's download is being made: `aria-disabled`, not
// `disabled`, which would throw the keyboard's focus out of it (Enter again, Tab from there).
export function markDownloading() {
  const button = $("download");
  if (downloading.has(state.file)) button.setAttribute("aria-disabled", "true");
  else button.removeAttribute("aria-disabled");
}

export async function download() {
  const file = state.file;
  if (downloading.has(file)) return;  // one at a time for a photo
  downloading.add(file);
  markDownloading();
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
    // Another photo opened meanwhile: the status line is its own (the browser shows the download).
    if (file === state.file) setStatus(`Downloaded ${full.name}`);
  } catch (err) {
    setStatus(`${file === state.file ? "Download" : `Download of ${file.name}`} failed: ${err.message}`, true);
  } finally {
    downloading.delete(file);
    markDownloading();
  }
}

let fullWords = "";  // what the 100 % view last said on the status line

function fullStatus(text) {
  fullWords = text;
  setStatus(text);
}

// 100 % view: the full-size result, one photo pixel per CSS pixel, scrolled to the subject point or the middle.
export async function showFull() {
  const seq = ++state.fullSeq;
  fullStatus("Making the full-size splash for the 100 % view…");
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
    fullStatus(`100 % view: ${img.naturalWidth}×${img.naturalHeight}; scroll to look around`);
  } catch (err) {
    if (seq !== state.fullSeq) return;
    if ($("full").classList.contains("pending")) $("full").hidden = true;  // no photo that looks like a result
    setStatus(`Could not make the full-size splash: ${err.message}`, true);  // stays: still true after the view
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

export function setZoom(on) {
  // Its words left on the status line would outlive the view ("Making ...", never to end; "scroll to look around"):
  // the preview's again (its error, and words said since by a download or a new preview, stay).
  if (state.zoom && !on && $("status").textContent === fullWords) setStatus(state.readyWords);
  state.zoom = on;
  state.fullSeq++;  // a 100 % answer still on its way is no longer wanted
  $("zoom").setAttribute("aria-pressed", String(on));
  $("result-frame").hidden = on;
  $("full-frame").hidden = !on;
  $("full-busy").hidden = true;  // shown by showFull while it works
  if (on) showFull();
}

// Escape in the 100 % view (tabbed into to scroll it) leaves it, as Escape closes what opens; the focus goes to its
// button, not out to the page with the hidden frame.
export function zoomKey(event) {
  if (event.key !== "Escape" || !state.zoom) return;
  event.preventDefault();
  setZoom(false);
  $("zoom").focus();
}

export function setCompare(on) {
  state.compare = on;
  $("compare").setAttribute("aria-pressed", String(on));
  $("before").hidden = !on;
  $("full-before").hidden = !on;
}

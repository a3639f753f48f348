// What the page tells the person about a photo: over the server's limits, not a photo, no subject.

import { TOUCH, $, state, setStatus, showMessage } from "./state.js";
import { openFailed } from "./open.js";

const megabytes = (bytes) => `${Number((bytes / 2 ** 20).toFixed(1))} MB`;
const megapixels = (pixels) => `${Number((pixels / 1e6).toFixed(1))} megapixels`;

// Why the server will refuse this photo at full size, in the user's words, or "" (limits from /api/health).
export function limitProblem(file, width, height) {
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
export function checkLimits(file) {
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
// saying why in the user's words: too large, with the limit (413), not a photo (415), or what else kept the server
// from reading it (not answering, the upload too slow, busy: its own words).
export function cannotOpen(file, err) {
  if (err.status !== 413 && err.status !== 415) {
    openFailed(`Could not open "${file.name}": ${err.message}.`);
    setStatus(`Could not open ${file.name}: ${err.message}`, true);
    return;
  }
  if (err.status === 413) {
    const words = tooLargeWords(file, err);
    openFailed(words);
    setStatus(words, true);
    return;
  }
  // The formats in the server's own words (/api/health's `reads`), not a list of the page's.
  const choose = state.reads ? `Choose a photo in a format this server reads: ${state.reads}.` : "Choose another photo.";
  openFailed(`"${file.name}" isn't a photo that can be opened here (the server says: ${err.message}). ${choose}`);
  setStatus(`Could not make the splash: ${err.message}`, true);
}

// Several files dropped at once: the page opens the first; this says so ("" for one file).
export function onlyFirstWords(files) {
  if (files.length < 2) return "";
  return `Only the first of the ${files.length} files dropped was opened, ${files[0].name}: this page splashes ` +
    "one photo at a time.";
}

// An option as the HTTP API's notes write it (`effect=transparent`), in this page's words: its control's label and
// the choice's text as the page shows them (`Effect “transparent (PNG)”`), read from the control itself so that
// no label is copied here; left as it is when the page has no such control or choice.
function inPageWords(note) {
  return note.replace(/\b([a-z][a-z-]*)=([a-z0-9-]+)\b/g, (spelt, name, value) => {
    const control = document.querySelector(`select[name="${name}"]`);
    const choice = control ? [...control.options].find((option) => option.value === value) : null;
    const label = control?.closest("label")?.firstChild?.textContent.trim();
    return choice && label ? `${label} “${choice.textContent.trim()}”` : spelt;
  });
}

// The server's notes on this photo (its viewable copy's and its result's: metadata left out, 16-bit reduced...),
// in one small line under the status, as plain text; each without the photo's name it starts with, and options in
// the page's words (inPageWords).
export function showNotes() {
  const name = state.file ? `${state.file.name}: ` : "";
  const notes = [...new Set([...state.openNotes, ...state.resultNotes])]
    .map((n) => inPageWords(name && n.startsWith(name) ? n.slice(name.length) : n));
  const el = $("notes");
  const text = notes.length ? `Notes: ${notes.join(" · ")}` : "";
  if (el.textContent !== text) el.textContent = text;  // a live region: rewritten, the same words are said again
  el.hidden = !notes.length;
}

// The subject score against the model's threshold, as the CLI's line says it (no_subject.gate_text): "subject score
// 0.29, under the model's 0.38". The score rounded down (0.4994 under 0.5 must not read 0.50), the threshold to the
// nearest, at two decimals, or three or four where two would read the wrong way round. No threshold known (no
// /api/health): the score alone.
function gateText(score, threshold) {
  const down = (places) => Math.floor(score * 10 ** places + 1e-9) / 10 ** places;
  if (threshold === null || threshold === undefined) return `subject score ${down(2).toFixed(2)}`;
  const under = score < threshold;
  let places = 2;
  let shown = Math.round(threshold * 100) / 100;
  for (; places <= 4; places++) {
    shown = Math.round(threshold * 10 ** places) / 10 ** places;
    if ((down(places) < shown) === under) break;
  }
  if (places > 4) {  // still the wrong way round: the threshold rounded away from the score
    places = 4;
    shown = (under ? Math.ceil(threshold * 1e4 - 1e-9) : Math.floor(threshold * 1e4 + 1e-9)) / 1e4;
  }
  const word = under ? "under" : "passing";
  return `subject score ${down(places).toFixed(places)}, ${word} the model's ${shown.toFixed(places)}`;
}

// The no-subject notice: what the server's X-Colorsplash-Subject header (or its error) said.
export function showNotice(subject, score = null, onEmpty = "grey") {
  const notice = $("notice");
  notice.classList.remove("error");
  if (subject !== "none") {
    showMessage(notice, "");
    return;
  }
  const sure = score === null ? "" : ` (${gateText(Number(score), state.subjectThreshold)})`;
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

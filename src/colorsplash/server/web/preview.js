// The preview: the splash of the preview copy with the current options, asked again as they change.

import { DEBOUNCE_MS, $, state, setStatus, showMessage } from "./state.js";
import { cannotOpen, showNotice, showNotes } from "./words.js";
import { postPhoto, readNotes, requestError } from "./server.js";
import { showPending, showWorkspace } from "./open.js";
import { showFull, setZoom, fullNotes } from "./full.js";
import { optionParams } from "./controls.js";

export async function render() {
  if (!state.file) return;
  const seq = ++state.seq;
  if (state.controller) state.controller.abort();
  state.controller = new AbortController();
  $("busy").hidden = false;
  showPending();  // after a failed preview too (no subject with "show an error"), while the next one is made
  setStatus("Making the splash…");  // not the previous "Ready in ..." (nor "Opening ...") while it is made
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
    if (seq !== state.seq) return;  // another photo (or newer settings) meanwhile: its own answer is shown
    result.dataset.seq = String(seq);
    result.alt = "Colour splash result";
    result.classList.remove("pending");
    result.hidden = false;
    state.gotResult = true;
    showWorkspace();
    showNotice(resp.headers.get("X-Colorsplash-Subject"), resp.headers.get("X-Colorsplash-Subject-Score"), onEmpty);
    // The preview's notes are the photo's when it was sent itself; a scaled copy's say nothing of the photo, whose
    // notes then come with its full-size result (the download, the 100 % view) for these options.
    state.resultNotes = state.preview === state.file ? readNotes(resp) : fullNotes();
    showNotes();
    $("download").disabled = state.tooBig;
    $("zoom").disabled = state.tooBig;
    const size = state.width ? ` · full size ${state.width}×${state.height}` : "";
    state.readyWords = `Ready in ${Math.round(performance.now() - started)} ms${size}`;
    setStatus(state.readyWords);
    if (state.zoom) showFull();
  } catch (err) {
    if (err.name === "AbortError" || seq !== state.seq) return;
    // Neither the browser nor the server could read it (or it is too large), or the server cannot read what the
    // browser shows (an SVG drawing, sent itself: 415): no setting changes that.
    if (!state.gotResult && (!state.decoded || (err.status === 415 && state.preview === state.file))) {
      cannotOpen(state.file, err);
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
export function renderSoon() {
  clearTimeout(debounceTimer);
  debounceTimer = setTimeout(render, DEBOUNCE_MS);
}

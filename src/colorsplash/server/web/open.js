// Opening a photo: shown by the browser when it can read it (else through the server's copy), and its preview copy
// scaled to PREVIEW_MAX pixels.

import { PREVIEW_MAX, $, state, setStatus, showMessage, swapSections } from "./state.js";
import { limitProblem, checkLimits, cannotOpen, showNotice, showNotes } from "./words.js";
import { RequestError, unreadable, viewableCopy } from "./server.js";
import { render } from "./preview.js";
import { setZoom, setCompare, markDownloading } from "./full.js";

// Back to the drop zone with a notice: the file could not be opened (empty, or not a photo).
export function openFailed(text) {
  state.openSeq++;
  state.file = null;
  if (state.controller) state.controller.abort();
  if (state.copyController) state.copyController.abort();
  $("busy").hidden = true;
  swapSections($("workspace"), $("drop"), $("file"));  // the keyboard's focus to the chooser, for another photo
  showMessage($("open-status"), "");
  showMessage($("open-note"), "");  // "Only the first ... was opened": it was not
  showMessage($("open-error"), text);
}

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error("the browser cannot show this picture"));
    img.src = url;
  });
}

// The size of the preview copy: at most PREVIEW_MAX pixels long, and within the server's pixel limit (a server
// started with a lower --max-pixels refuses a photo under PREVIEW_MAX that is over it).
function previewSize(width, height) {
  const limit = state.limits ? state.limits.max_pixels : Infinity;
  const scale = Math.min(1, PREVIEW_MAX / Math.max(width, height), Math.sqrt(limit / (width * height)));
  let [w, h] = [Math.round(width * scale), Math.round(height * scale)];
  if (w * h > limit) [w, h] = [Math.floor(width * scale), Math.floor(height * scale)];  // rounded up past it
  return [Math.max(1, w), Math.max(1, h)];
}

// A JPEG copy at most PREVIEW_MAX pixels long (drawn upright: browsers apply EXIF orientation), within the server's
// limits; `file`, the picture `img` shows, when it needs no copy.
async function makePreview(img, file) {
  const [width, height] = previewSize(img.naturalWidth, img.naturalHeight);
  const heavy = state.limits && file.size > state.limits.max_upload_bytes;  // re-encoded smaller, same pixels
  if (width === img.naturalWidth && height === img.naturalHeight && !heavy) return { blob: file, scale: 1 };
  const canvas = document.createElement("canvas");
  Object.assign(canvas, { width, height });
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";  // transparent pixels become white, as the server does
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.92));
  return { blob: blob || file, scale: blob ? canvas.width / img.naturalWidth : 1 };
}

// The EXIF orientation (1-8) in a TIFF header's first directory at `base` of `view`; 1 when it has none.
function exifOrientation(view, base) {
  const little = view.getUint16(base) === 0x4949;  // "II": little-endian; "MM": big-endian
  const ifd = base + view.getUint32(base + 4, little);
  for (let i = 0, count = view.getUint16(ifd, little); i < count; i++) {
    const entry = ifd + 2 + 12 * i;
    if (view.getUint16(entry, little) === 0x0112) return view.getUint16(entry + 8, little);
  }
  return 1;
}

// Whether `file` is a WebP whose EXIF says to turn or flip it (a phone's portrait photo). Chromium shows a WebP as
// stored, while the server (as the CLI) applies the orientation: such a photo is shown through the server's upright
// copy, so that the page, its previews and the download agree.
async function turnedWebp(file) {
  const tag = (view, at) => String.fromCharCode(...new Uint8Array(view.buffer, at, 4));
  if (file.size < 20) return false;
  const head = new DataView(await file.slice(0, 12).arrayBuffer());
  if (tag(head, 0) !== "RIFF" || tag(head, 8) !== "WEBP") return false;
  const view = new DataView(await file.arrayBuffer());
  try {
    for (let at = 12; at + 8 <= view.byteLength;) {  // RIFF chunks: a four-letter tag, a size, the data
      const size = view.getUint32(at + 4, true);
      if (tag(view, at) === "EXIF") {
        const exif = tag(view, at + 8) === "Exif" ? at + 14 : at + 8;  // some writers keep JPEG's "Exif\0\0"
        return exifOrientation(view, exif) !== 1;
      }
      at += 8 + size + (size % 2);
    }
  } catch (_) {  // cut off or damaged: the server says what it makes of it
    return false;
  }
  return false;
}

// The page made ready for `file`: the previous photo's requests cancelled, and nothing of it left on screen (its
// splash, point, notices, notes, 100 % view; its download, still being made, goes on).
function forgetPrevious(file) {
  if (state.copyController) state.copyController.abort();
  state.seq++;
  if (state.controller) state.controller.abort();
  if (state.originalUrl) URL.revokeObjectURL(state.originalUrl);
  if (state.full) URL.revokeObjectURL(state.full.url);
  Object.assign(state, { file, point: null, preview: file, scale: 1, width: 0, height: 0, full: null, readyWords: "",
    cursor: [0.5, 0.5], tooBig: false, decoded: false, gotResult: false, openNotes: [], resultNotes: [] });
  state.originalUrl = URL.createObjectURL(file);
  showMessage($("open-error"), "");
  showMessage($("open-status"), "");
  showMessage($("limit-note"), "");
  $("marker").hidden = true;
  $("clear-point").disabled = true;
  $("download").disabled = true;
  markDownloading();  // busy only while this photo's own download is being made
  $("zoom").disabled = true;  // the previous photo's 100 % view is gone
  $("result").removeAttribute("src");
  $("result").hidden = true;  // no broken-image icon, nor the previous photo's splash, until this one's
  setZoom(false);
  setCompare(false);
  showNotice(null);
  showNotes();  // the previous photo's notes are not this one's
}

// `note`: said above the page while this photo is open (several files dropped: which one was opened), "" for none.
export async function openFile(file, note = "") {
  if (!file) return;
  // A photo picked while another is still loading replaces it: the older call stops at its next await, and its
  // requests for a viewable copy and a preview are cancelled (not uploaded, nor retried while the server is busy;
  // a preview on its way is not shown as this photo's).
  const opening = ++state.openSeq;
  // A folder (dropped), or a file gone since it was chosen: its upload would fail as if the server did not answer.
  if (await unreadable(file)) {
    if (opening === state.openSeq) {
      openFailed(`Could not read "${file.name}" on this computer: it is a folder, or it was moved or deleted ` +
        "since it was chosen. Choose a photo file.");
    }
    return;
  }
  if (opening !== state.openSeq) return;
  showMessage($("open-note"), note);
  if (file.size === 0) {
    openFailed(`"${file.name}" is empty (0 bytes), so there is no photo in it. Choose another file.`);
    return;
  }
  forgetPrevious(file);
  setStatus(`Opening ${file.name}…`);
  let shown = false;
  let why = "";  // why the server's copy must stand in for the photo
  try {
    // A drawing goes to the server first, which says whether it reads it (not SVG): the browser's scaled copy of a
    // large one would give previews whose full size is then refused.
    if (file.type === "image/svg+xml") why = "an SVG drawing";
    else if (await turnedWebp(file)) why = "this browser shows it turned";
    else shown = await showPicture(state.originalUrl, file, file, opening);
  } catch (_) {
    why = "this browser cannot show it";
  }
  if (why) {
    if (opening !== state.openSeq) return;
    shown = await openOnServer(file, opening, why);
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

// Pictures the browser cannot show (an iPhone's HEIC, TIFF, ...; or not upright: `why` says which) still go to the
// server, which reads more formats: its copy stands in for the photo on screen and, scaled, for the previews.
// True when the copy is shown;
// false when not (the preview request then says why, or another photo was picked meanwhile). A photo the server
// refuses (already over the upload limit here: not sent at all) goes back to the drop zone with the reason.
async function openOnServer(file, opening, why) {
  if (limitProblem(file, 0, 0)) {  // its pixels are unknown until the server reads it; its size is enough
    cannotOpen(file, new RequestError({ message: "over the upload limit", subject: null }, 413));
    return false;
  }
  // Said above the drop zone (the editor's status line would be hidden, or beside the previous photo's panes).
  const words = `Opening ${file.name} on the server (${why})…`;
  swapSections($("workspace"), $("drop"), $("file"));
  showMessage($("open-status"), words);
  setStatus(words);
  state.copyController = new AbortController();
  const copy = await viewableCopy(file, state.copyController.signal);
  if (opening !== state.openSeq) return false;
  if (copy instanceof RequestError && [0, 408, 413, 415].includes(copy.status)) {
    // The same file again as the preview would be refused the same way (or not answered, or as slow to upload).
    cannotOpen(file, copy);
    return false;
  }
  let shown = false;
  if (copy && !(copy instanceof RequestError)) {
    // The copy's notes on reading the photo (e.g. a HEIC burst: its primary picture used) hold for every result;
    // its flattened transparency is the JPEG copy's own (photo_io.transparency_note, "view"): a cut-out keeps it,
    // and a splash's result says so itself (with the full-size result), so the page does not repeat it.
    state.openNotes = copy.notes.filter((note) => !note.endsWith(": transparent areas flattened onto white"));
    showNotes();
    URL.revokeObjectURL(state.originalUrl);
    state.originalUrl = URL.createObjectURL(copy.blob);
    shown = await showPicture(state.originalUrl, copy.blob, file, opening).catch(() => false);
  }
  if (!shown && opening === state.openSeq) {
    for (const id of ["original", "before", "full-before"]) $(id).removeAttribute("src");
    checkLimits(file);
  }
  return shown;
}

// While this photo has no splash yet, the Splash pane shows the photo itself, faded under the spinner (not an
// empty box, nor a broken-image icon); a picture the browser cannot show leaves the pane empty until the result.
export function showPending() {
  const result = $("result");
  if (!state.decoded || !result.hidden) return;
  result.src = state.originalUrl;
  result.alt = "Original photo, while its colour splash is being made";
  result.classList.add("pending");
  delete result.dataset.seq;  // no result of a request is shown
  result.hidden = false;
}

export function showWorkspace() {
  showMessage($("open-status"), "");
  swapSections($("drop"), $("workspace"), $("picker"));  // the keyboard's focus to the photo: choose the subject
}

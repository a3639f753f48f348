// The page's state and the few helpers every part uses: elements by id, the status line, messages.

export const PREVIEW_MAX = 1600;   // longest side of the preview sent while tuning, in pixels
export const DEBOUNCE_MS = 200;    // wait for a slider to settle before asking for a new preview
export const KEY_STEP = 0.02;      // arrow-key move of the subject ring, as a fraction of the photo (Shift: 5x)
// Phones and tablets: "tap" instead of "click".
export const TOUCH = window.matchMedia("(pointer: coarse)").matches;

export const $ = (id) => document.getElementById(id);

export const state = {
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
  readyWords: "",    // the status line's words for the preview shown ("Ready in ..."), said again after the 100 % view
  compare: false,
  limits: null,      // the server's limits from /api/health: {max_upload_bytes, max_pixels, ...}
  reads: "",         // the picture formats the server reads, in its words, from /api/health ("": not known)
  subject: "subject", // what the model finds, from /api/health ("pet"; a trained model's --subject): the server's word
  subjectThreshold: null,  // the model's subject-score threshold, from /api/health (null: not known)
  tooBig: false,     // the photo is over a limit: the full-size download and the 100 % view would be refused
  decoded: false,    // the browser could read the photo (if not, only the server's answer tells if it is one)
  gotResult: false,  // the server has made a result for this photo
  openNotes: [],     // the server's notes on its viewable copy of this photo (a picture the browser cannot show)
  resultNotes: [],   // the server's notes on the result of the photo itself with the current options
  strengths: {},     // the strength last set for each effect: going back to an effect brings its own back
};

export const pct = (v) => `${Math.round(v * 100)} %`;

export function setStatus(text, isError = false) {
  const el = $("status");
  el.textContent = text;
  el.classList.toggle("error", isError);
}

// Show `el` with `text` (or hide it when text is empty); scroll it into view when it newly says something,
// so that on a phone it is not left below the screen.
export function showMessage(el, text) {
  const changed = el.textContent !== text || el.hidden;
  // Messages are live regions: the same words written again (each preview) would be said again.
  if (el.textContent !== text) el.textContent = text;
  el.hidden = !text;
  if (text && changed) el.scrollIntoView({ block: "nearest" });
}

// Show the page's section `show` in place of `hide`. The keyboard's focus in `hide` goes to `landing`, in `show`: it
// would fall out to the page itself, and a screen reader would start again from the top (a mouse's stays put).
export function swapSections(hide, show, landing) {
  const focused = document.activeElement;
  const keyboard = hide.contains(focused) && focused.matches(":focus-visible");
  hide.hidden = true;
  show.hidden = false;
  if (keyboard) landing.focus();
}

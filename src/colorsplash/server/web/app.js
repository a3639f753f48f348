// colorsplash web page: pick or drop a photo, preview the splash, tune it, compare, look at 100 %, download.
// Previews use a copy scaled to PREVIEW_MAX pixels (fast); the 100 % view and the download send the original file
// (one request, shared while the options stay the same). All requests go to this server's /api (relative URLs,
// so the page also works behind a path prefix).
// Modules by topic: state.js, words.js, server.js, open.js, preview.js, full.js, controls.js; this one wires
// them to the page.

import { TOUCH, $, state } from "./state.js";
import { showModel } from "./server.js";
import { openFile } from "./open.js";
import { onlyFirstWords } from "./words.js";
import { render, renderSoon } from "./preview.js";
import { download, setZoom, setCompare, zoomKey } from "./full.js";
import {
  placeMarker, choosePoint, pickerKey, clearPoint, configureStrength, updateLabels, compareKey,
} from "./controls.js";

function wireDrop() {
  const drop = $("drop");
  if (TOUCH) {  // phones and tablets: no dragging from another program, nor a paste without a field
    $("drop-words").textContent = "Choose a photo";
    $("drop-more").hidden = true;
  }
  document.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  document.addEventListener("dragleave", (e) => { if (!e.relatedTarget) drop.classList.remove("over"); });
  document.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const files = e.dataTransfer.files;
    if (files.length) openFile(files[0], onlyFirstWords(files));
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

function init() {
  $("file").addEventListener("change", (e) => openFile(e.target.files[0]));
  $("another").addEventListener("click", () => { $("file").value = ""; $("file").click(); });
  $("clear-point").addEventListener("click", clearPoint);
  $("download").addEventListener("click", download);
  $("compare").addEventListener("click", () => setCompare(!state.compare));
  $("zoom").addEventListener("click", () => setZoom(!state.zoom));
  $("full-frame").addEventListener("keydown", zoomKey);
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

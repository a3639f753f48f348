// The controls: effect strength, the options sent, the labels, choosing the subject (mouse, touch, keyboard), and
// the B key.

import { KEY_STEP, $, state, pct, setStatus } from "./state.js";
import { render } from "./preview.js";
import { setCompare } from "./full.js";

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

function effectValue(scale) {
  const effect = $("effect").value;
  const base = effect === "color" ? `color:${$("color").value}` : effect;
  const strength = STRENGTH[effect];
  const v = Number($("strength").value);
  return !strength || v === strength.plain ? base : strength.param(v, scale);
}

// The options for a request at `scale` (pixel-valued options are scaled to the size sent).
export function optionParams(scale) {
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

export function placeMarker(id, [fx, fy]) {
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

export function choosePoint(event) {
  const rect = $("original").getBoundingClientRect();
  if (rect.width === 0) return;
  const fx = Math.min(1, Math.max(0, (event.clientX - rect.left) / rect.width));
  const fy = Math.min(1, Math.max(0, (event.clientY - rect.top) / rect.height));
  setPoint([fx, fy]);
}

// Keyboard: arrows move the ring, Enter or Space chooses the subject under it, Escape clears the choice.
export function pickerKey(event) {
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

export function clearPoint() {
  state.point = null;
  $("marker").hidden = true;
  // The button disables itself: keyboard focus on it would fall out to the page; it goes to the photo, where the
  // next subject is chosen.
  if (document.activeElement === $("clear-point")) $("picker").focus();
  $("clear-point").disabled = true;
  render();
}

export function configureStrength() {
  const strength = STRENGTH[$("effect").value];
  $("strength-wrap").hidden = !strength;
  if (!strength) return;
  const slider = $("strength");
  Object.assign(slider, { min: strength.min, max: strength.max, step: strength.step });
  slider.value = String(state.strengths[$("effect").value] ?? strength.plain);
}

export function updateLabels() {
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

// "B" toggles before/after (the button's tooltip says so); not while typing in a field or with a modifier key.
export function compareKey(event) {
  if (event.key !== "b" && event.key !== "B") return;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.target.closest("input, select, textarea, [contenteditable]")) return;
  if ($("workspace").hidden || $("compare").disabled) return;
  event.preventDefault();
  setCompare(!state.compare);
}

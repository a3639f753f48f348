// Requests to this server's /api: errors in words, retries while it is busy, the viewable copy of a picture the
// browser cannot show (/api/view), the model and limits (/api/health).

import { $, state, setStatus } from "./state.js";

async function readError(resp) {
  try {
    const body = await resp.json();
    return { message: body.error || resp.statusText, subject: body.subject || null };
  } catch (_) {
    return { message: `${resp.status} ${resp.statusText}`, subject: null };
  }
}

// A refused request: the server's words, its `subject` field and the HTTP status (0: no answer, UNREACHABLE).
export class RequestError extends Error {
  constructor(info, status = 0) { super(info.message); this.subject = info.subject; this.status = status; }
}

// A request the server did not answer (stopped, restarting, the network down): the browser's own words ("Failed to
// fetch") say nothing to the person at the page.
export const UNREACHABLE = new RequestError({
  message: "the server did not answer (has colorsplash serve stopped?); try again once it runs", subject: null });

// Whether the browser can no longer read `file`: a folder dropped on the page, or a file moved, renamed or deleted
// on this computer since it was chosen. Its upload fails as a request the server did not answer would.
export async function unreadable(file) {
  try {
    await file.slice(0, 1).arrayBuffer();
    return false;
  } catch (_) {
    return true;
  }
}

// fetch(), with no answer at all as UNREACHABLE (a cancelled request still rejects as AbortError), or as the photo
// it sends being unreadable here (not the server's doing).
async function send(url, init) {
  try {
    return await fetch(url, init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    const file = init.body instanceof FormData ? init.body.get("file") : null;
    if (file instanceof File && await unreadable(file)) {
      throw new RequestError({ message: `${file.name} could not be read on this computer (moved, renamed or ` +
        "deleted since it was chosen?); choose it again", subject: null });
    }
    throw UNREACHABLE;
  }
}

const BUSY_TRIES = 4;  // a 503 (the server's memory budget is full of other photos) is tried again this often
const BUSY_WAIT_MAX_S = 15;

// POST a photo to the server; while it answers 503 (busy), wait as its Retry-After says and try again,
// saying so, instead of failing at once with the operator's message. Returns the last response.
export async function postPhoto(url, body, signal = undefined) {
  for (let attempt = 1; ; attempt++) {
    const resp = await send(url, { method: "POST", body, signal });
    if (resp.status !== 503 || attempt >= BUSY_TRIES) return resp;
    const wait = Math.min(BUSY_WAIT_MAX_S, Math.max(1, Number(resp.headers.get("Retry-After")) || 2));
    setStatus(`The server is busy with other photos; trying again in ${wait} s…`);
    await new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, wait * 1000);
      if (signal) signal.addEventListener("abort", () => { clearTimeout(timer); reject(signal.reason); });
    });
  }
}

// The error of a failed request, in words for the person at the page (not the operator's flags) when the server is
// only busy, or the upload too slow for it (--upload-timeout).
export async function requestError(resp) {
  if (resp.status === 503) {
    return new RequestError({ message: "the server is busy with other photos; try again in a moment", subject: null },
      503);
  }
  if (resp.status === 408) {
    const limit = state.limits ? ` within the ${state.limits.upload_timeout_s} s this server waits for it` : "";
    return new RequestError({ message: `the photo did not finish uploading${limit}; try again over a faster ` +
      "connection, or choose a smaller photo", subject: null }, 408);
  }
  return new RequestError(await readError(resp), resp.status);
}

// The notes the server sent with a result (its X-Colorsplash-Notes header: a JSON array of strings), [] if none.
export function readNotes(resp) {
  try {
    const notes = JSON.parse(resp.headers.get("X-Colorsplash-Notes") || "[]");
    return Array.isArray(notes) ? notes.filter((n) => typeof n === "string") : [];
  } catch (_) {
    return [];
  }
}

// A copy the browser can show of a picture it cannot read: the server's /api/view (no model run), upright, full
// size (it is also the 100 % view's "before"), as JPEG with the photo's colour profile: {blob, notes}. The server's
// refusal (a RequestError; UNREACHABLE when it does not answer, status 0 too when `file` is unreadable here) when it
// cannot make one; null when cancelled (`signal`) or the answer is cut off.
export async function viewableCopy(file, signal) {
  const body = new FormData();
  body.append("file", file, file.name);
  try {
    const resp = await postPhoto("api/view", body, signal);
    return resp.ok ? { blob: await resp.blob(), notes: readNotes(resp) } : await requestError(resp);
  } catch (err) {
    return err instanceof RequestError ? err : null;  // not answered, or the file unreadable here
  }
}

export async function showModel() {
  try {
    const resp = await fetch("api/health");
    const health = await resp.json();
    state.limits = health.limits || null;
    state.reads = health.reads || "";
    const m = health.model;
    state.subject = m.subject;  // the server's own word (its messages' too), never blank
    state.subjectThreshold = m.subject_threshold ?? null;  // what the no-subject notice holds the score against
    // What the model does in plain words ("Pet model — cats and dogs"); its internal name for the curious.
    $("model-info").textContent = m.description || m.name;
    $("model-info").title = `${m.name}: ${m.arch}, ${m.input_size} px, ${m.file}`;
  } catch (_) {
    $("model-info").textContent = "server not reachable";
  }
}

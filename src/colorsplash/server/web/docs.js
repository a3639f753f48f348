// Renders this server's OpenAPI description as plain HTML (no external scripts: works offline).
"use strict";

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const child of children) if (child !== "") node.append(child);
  return node;
}

// The description `text` with its Markdown code spans (`--allowed-origin`) as <code>, not as backticks.
function prose(text) {
  if (typeof text !== "string") return [text];
  return text.split("`").map((part, i) => (i % 2 ? el("code", {}, part) : part));
}

function row(cells, labels = []) {
  return el("tr", {}, ...cells.map((c, i) => el("td", labels[i] ? { "data-label": labels[i] } : {}, ...prose(c))));
}

// A table; on phones the CSS shows each row as a card, the cells prefixed with their column's name.
function table(head, rows) {
  const headRow = el("tr", {}, ...head.map((h) => el("th", {}, h)));
  return el("table", {}, el("thead", {}, headRow), el("tbody", {}, ...rows.map((cells) => row(cells, head))));
}

function operation(path, method, op) {
  const section = el("section", { class: "endpoint" },
    el("h2", {}, el("code", { class: "method" }, method.toUpperCase()), " ", el("code", {}, path)),
    el("p", {}, ...prose(op.summary || "")));
  const params = op.parameters || [];
  if (params.length) {
    section.append(el("h3", {}, "Options (query string or form fields)"), table(["name", "type", "default", "meaning"],
      params.map((p) => [el("code", {}, p.name), p.schema.enum ? p.schema.enum.join(" | ") : p.schema.type,
        p.schema.default === undefined ? "" : String(p.schema.default), p.description || ""])));
  }
  if (op.requestBody) {
    section.append(el("h3", {}, "Body"), el("p", {}, ...prose(op.requestBody.description || ""),
      " — ", Object.keys(op.requestBody.content).join(", ")));
  }
  section.append(el("h3", {}, "Responses"), table(["status", "meaning", "type"],
    Object.entries(op.responses).map(([code, r]) => [code, r.description || "",
      Object.keys(r.content || {}).join(", ")])));
  const headers = (op.responses["200"] || {}).headers || {};
  if (Object.keys(headers).length) {
    section.append(el("h3", {}, "Response headers"), table(["header", "meaning"],
      Object.entries(headers).map(([name, h]) => [el("code", {}, name), h.description || ""])));
  }
  return section;
}

async function main() {
  const target = document.getElementById("endpoints");
  try {
    const spec = await (await fetch("openapi.json")).json();
    document.getElementById("intro").textContent = `${spec.info.title} ${spec.info.version}. ${spec.info.description}`;
    target.replaceChildren();
    for (const [path, methods] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(methods)) target.append(operation(path, method, op));
    }
  } catch (err) {
    target.textContent = `Could not load openapi.json: ${err.message}`;
  }
}

main();

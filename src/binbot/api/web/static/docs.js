// A small offline reader of the OpenAPI document.
import { $, api, el, initChrome } from "./common.js";

function params(op) {
  return (op.parameters || []).map((p) => `${p.name}${p.required ? "" : "?"} (${p.in})`).join(", ");
}

async function main() {
  initChrome();
  const spec = await api("/openapi.json");
  $("#api-title").textContent = `${spec.info.title} API ${spec.info.version}`;
  const rows = [];
  for (const [path, ops] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      rows.push(el("div", { class: "endpoint" },
        el("span", { class: `method ${method}`, text: method.toUpperCase() }),
        el("span", { class: "mono", text: path }),
        el("span"), el("span", { class: "muted", text: [op.summary, params(op)].filter(Boolean).join(" · ") })));
    }
  }
  $("#endpoints").replaceChildren(...rows);
}

main();

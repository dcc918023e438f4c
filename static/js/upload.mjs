// The model page's upload form: check the predictions file locally, seal it in the browser
// to the round's public key (HPKE, hpke.mjs), upload only the envelope, show the receipt.
//
// The plaintext never leaves the browser. Without this script the form still posts, but the
// server accepts only a file that is already sealed (e.g. by `arena seal`).

import { cidForBytes } from "./cid.mjs";
import { keyFromHex, seal, submissionInfo } from "./hpke.mjs";
import { checkPredictionsCsv } from "./prediction_check.mjs";

function element(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

function show(box, kind, title, lines = []) {
  box.hidden = false;
  box.dataset.state = kind;
  box.className = kind === "error" ? "form-error" : "upload-status";
  box.replaceChildren(element("p", { class: kind === "error" ? "error-message" : "" }, title));
  if (lines.length) {
    box.append(element("ul", { class: "problems-list" }, ...lines.map((line) => element("li", {}, line))));
  }
}

function showReceipt(box, body, localCid) {
  const receipt = body.receipt;
  const facts = element("dl", { class: "facts" });
  const rows = [
    ["Round", String(receipt.round), "round"],
    ["Model id", String(receipt.model), "model"],
    ["Content id", receipt.cid, "cid"],
    ["Received (UTC)", receipt.received_at, "received_at"],
    ["Platform signature", body.receipt_signature, "signature"],
  ];
  for (const [label, value, key] of rows) {
    facts.append(element("dt", {}, label), element("dd", {}, element("code", { "data-receipt": key }, value)));
  }
  const same = receipt.cid === localCid;
  box.hidden = false;
  box.dataset.state = same ? "received" : "error";
  box.className = same ? "upload-status receipt" : "form-error";
  box.replaceChildren(
    element("p", {}, same
      ? `Sealed predictions received for round ${receipt.round}. They stay unreadable until the round closes; then they are opened and checked, and the result shows in your submissions (reload this page to see the new upload there).`
      : `The platform names the upload ${receipt.cid}, but this browser sealed ${localCid}: do not rely on this upload.`),
    facts,
    element("p", { class: "help" }, "The content id is the SHA-256 of the envelope sealed in this browser. The signature verifies with the platform key published at /api/platform (the arena client checks it for you)."),
  );
}

async function upload(form, box) {
  const input = form.querySelector("input[type=file]");
  const file = input.files[0];
  if (!file) {
    show(box, "error", "Choose a predictions file first.");
    return;
  }
  const maxBytes = Number(form.dataset.maxBytes);
  if (file.size > maxBytes) {
    show(box, "error", `The file is ${file.size.toLocaleString("en-US")} bytes; the limit is ${maxBytes.toLocaleString("en-US")} bytes.`);
    return;
  }
  const bytes = new Uint8Array(await file.arrayBuffer());
  const isParquet = bytes.length >= 4 && String.fromCharCode(...bytes.slice(0, 4)) === "PAR1";
  if (!isParquet) {
    if (!/\.csv$/i.test(file.name)) {
      show(box, "error", `'${file.name}': expected a .csv or .parquet file.`);
      return;
    }
    const result = checkPredictionsCsv(new TextDecoder().decode(bytes));
    if (!result.ok) {
      show(box, "error", `${file.name} was not uploaded: fix these problems first.`, result.problems.map((p) => p.message));
      return;
    }
  }
  show(box, "working", `Sealing ${file.name} to the round ${form.dataset.round} key…`);
  let envelope;
  try {
    const info = submissionInfo(form.dataset.tournament, Number(form.dataset.round), Number(form.dataset.modelId));
    envelope = await seal(bytes, keyFromHex(form.dataset.publicKey), info);
  } catch (error) {
    show(box, "error", `This browser could not seal the file (${error.name}: ${error.message}). Use a current browser, or the arena command line client.`);
    return;
  }
  const localCid = await cidForBytes(envelope);
  show(box, "working", `Uploading the sealed file (${envelope.length.toLocaleString("en-US")} bytes)…`);
  const body = new FormData();
  body.append("file", new Blob([envelope], { type: "application/octet-stream" }), `${file.name}.sealed`);
  let response;
  try {
    response = await fetch(form.dataset.apiUrl, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: {
        Accept: "application/json",
        "X-CSRFToken": form.querySelector("input[name=csrfmiddlewaretoken]").value,
      },
    });
  } catch (error) {
    show(box, "error", `The upload did not reach the platform: ${error.message}`);
    return;
  }
  let answer = {};
  try {
    answer = await response.json();
  } catch {
    // not JSON: keep the status line below
  }
  if (response.status !== 201) {
    const error = answer.error || { message: `the platform answered ${response.status}` };
    const problems = (error.details && error.details.problems) || [];
    show(box, "error", error.message, problems.map((p) => p.message));
    return;
  }
  form.reset();
  showReceipt(box, answer, localCid);
}

for (const form of document.querySelectorAll("form[data-sealed-upload]")) {
  const box = document.getElementById(form.dataset.statusBox);
  let busy = false;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (busy) return;
    busy = true;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    upload(form, box)
      .catch((error) => show(box, "error", `Unexpected error: ${error.message}`))
      .finally(() => {
        busy = false;
        button.disabled = false;
      });
  });
  // Tells the page (and its tests) that uploads are sealed here, not posted in the clear.
  form.dataset.ready = "true";
  for (const note of form.querySelectorAll("[data-without-js]")) note.hidden = true;
}

// Form editor: SurveyJS JSON on the left, a live survey-js-ui preview (with sample prefill) on the right;
// the server's definition checks (422 details by JSON path) are listed in place. Publish, archive, copy.
(function () {
  "use strict";
  const root = document.getElementById("form-editor");
  if (!root) return;
  const { api, el, say } = window.Studio;
  let key = root.dataset.key;
  const isNew = key === "new";
  const json = document.getElementById("fe-json");
  const sample = document.getElementById("fe-sample");
  let timer = null;

  function parse(text, errorId) {
    try { say(errorId, ""); return JSON.parse(text); } catch (err) { say(errorId, `Not valid JSON: ${err.message}`, true); return null; }
  }

  function preview() {
    const definition = parse(json.value, "fe-json-error");
    const data = parse(sample.value || "{}", "fe-json-error");
    if (!definition) return;
    const box = document.getElementById("fe-preview");
    const mount = el("div"); // a fresh mount each time: the renderer keeps state on its container
    box.replaceChildren(mount);
    try {
      const survey = new window.Survey.Model(definition);
      survey.data = data || {};
      survey.showCompleteButton = false;
      survey.render(mount);
      window.porticoPreview = survey; // for browser tests
    } catch (err) {
      box.append(el("p", { class: "error", text: `The preview cannot render this: ${err.message}` }));
    }
  }

  function schedule() { window.clearTimeout(timer); timer = window.setTimeout(preview, 300); }
  json.addEventListener("input", schedule);
  sample.addEventListener("input", schedule);

  function problems(details) {
    const list = document.getElementById("fe-problems");
    list.replaceChildren(...Object.entries(details || {}).flatMap(([path, messages]) =>
      messages.map((m) => el("li", {}, el("code", { text: path }), `: ${m}`))));
    document.getElementById("fe-problems-card").hidden = !list.children.length;
  }

  function report(result, okText) {
    if (result.ok) { problems({}); say("fe-status", okText); return true; }
    problems(result.error && result.error.details);
    say("fe-status", (result.error && result.error.message) || `Failed (${result.status}).`, true);
    return false;
  }

  function showForm(f) {
    document.getElementById("fe-title").value = f.title;
    document.getElementById("fe-kind").value = f.kind;
    document.getElementById("form-version").textContent =
      f.latest_version ? `(published version ${f.latest_version}${f.archived ? ", archived" : ""})` : "(draft, never published)";
    document.getElementById("fe-copy-box").hidden = f.kind !== "dynamic";
  }

  document.getElementById("form-meta").addEventListener("submit", async (event) => {
    event.preventDefault();
    const definition = parse(json.value, "fe-json-error");
    if (!definition) { json.focus(); return; }
    const title = document.getElementById("fe-title").value.trim();
    if (isNew && key === "new") {
      const newKey = document.getElementById("fe-key").value.trim();
      const result = await api("POST", "/api/v1/forms", { key: newKey, kind: document.getElementById("fe-kind").value, title, definition });
      if (report(result, "Draft created.")) window.location.href = `/studio/forms/${encodeURIComponent(newKey)}`;
      return;
    }
    const result = await api("PUT", `/api/v1/forms/${encodeURIComponent(key)}`, { definition, title: title || undefined });
    if (report(result, "Draft saved: the server found no problems.")) showForm(result.data);
  });

  document.getElementById("fe-publish").addEventListener("click", async () => {
    const result = await api("POST", `/api/v1/forms/${encodeURIComponent(key)}/publish`);
    if (report(result, `Published version ${result.data.number}.`)) {
      document.getElementById("form-version").textContent = `(published version ${result.data.number})`;
    }
  });
  document.getElementById("fe-archive").addEventListener("click", async () => {
    if (!window.confirm("Archive this form? No new requests will use it.")) return;
    const result = await api("POST", `/api/v1/forms/${encodeURIComponent(key)}/archive`);
    if (report(result, "Archived.")) showForm(result.data);
  });
  document.getElementById("fe-copy").addEventListener("click", async () => {
    const newKey = document.getElementById("fe-copy-key").value.trim();
    const result = await api("POST", `/api/v1/forms/${encodeURIComponent(key)}/copy-to-intake`, { new_key: newKey });
    if (report(result, "Copied.")) window.location.href = `/studio/forms/${encodeURIComponent(newKey)}`;
  });

  async function start() {
    if (isNew) {
      json.value = JSON.stringify({ pages: [{ name: "page1", elements: [{ type: "text", name: "question1", title: "A question" }] }] }, null, 2);
      say("fe-status", "Choose a key, a title and a kind, then save the draft.");
    } else {
      const result = await api("GET", `/api/v1/forms/${encodeURIComponent(key)}`);
      if (!result.ok) { say("fe-status", "This form does not exist.", true); return; }
      showForm(result.data);
      json.value = JSON.stringify(result.data.draft, null, 2);
      say("fe-status", "Edit the JSON; the preview follows. Save the draft to run the server's checks.");
    }
    preview();
    root.dataset.ready = "true";
  }
  start();
})();

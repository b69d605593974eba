// Migration page: preview which instances can move and why not, then run the batch and show its progress.
(function () {
  "use strict";
  const page = document.getElementById("migrate-page");
  if (!page) return;
  const { api, el, say } = window.Studio;
  const form = document.getElementById("migrate-form");
  const process = document.getElementById("m-process");
  const version = document.getElementById("m-version");
  let body = null;
  let preview = null;

  function defaultVersion() {
    const option = process.selectedOptions[0];
    if (option) version.value = option.dataset.latest;
  }
  process.addEventListener("change", defaultVersion);
  defaultVersion();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say("m-version-error", "");
    version.removeAttribute("aria-invalid");
    if (!/^\d+$/.test(version.value.trim())) {
      version.setAttribute("aria-invalid", "true");
      say("m-version-error", "Enter a version number.", true);
      version.focus();
      return;
    }
    body = { process_id: process.value, to_version: Number(version.value) };
    const result = await api("POST", "/api/v1/process-instances/migrate/preview", body);
    if (!result.ok) {
      version.setAttribute("aria-invalid", "true");
      say("m-version-error", (result.error && result.error.message) || "No preview.", true);
      return;
    }
    const p = result.data;
    preview = p;
    const rows = document.getElementById("preview-rows");
    rows.replaceChildren();
    for (const item of p.items) {
      rows.append(el("tr", {},
        el("th", { scope: "row" }, el("a", { href: `/studio/instances/${item.id}`, text: item.id })),
        el("td", { text: String(item.process_version) }), el("td", { text: (item.at || []).join(", ") }),
        el("td", { text: item.can_move ? "yes" : "no" }), el("td", { text: item.reasons.join("; ") })));
    }
    say("preview-summary", `${p.total} running instance(s) on other versions: ${p.can_move} can move to version ${p.to_version}, ${p.refused} cannot.`);
    document.getElementById("m-run").disabled = p.can_move === 0;
    document.getElementById("preview-card").hidden = false;
  });

  async function poll(runId) {
    const bar = document.getElementById("run-progress");
    for (;;) {
      const result = await api("GET", `/api/v1/process-instances/migrations/${runId}`);
      if (!result.ok) { say("run-summary", "Lost track of the run; reload to see it.", true); return; }
      const run = result.data;
      bar.max = Math.max(run.total, 1);
      bar.value = run.done;
      const finished = run.status === "finished" || run.status === "failed";
      say("run-summary", `${finished ? "Done" : "Moving"}: ${run.done} of ${run.total} — moved ${run.moved}, ` +
        `refused ${run.refused}, failed ${run.failed}.${run.error ? " " + run.error : ""}`, run.status === "failed");
      if (finished) {
        const list = document.getElementById("run-outcomes");
        list.replaceChildren(...run.outcomes.map((o) => el("li", {},
          el("a", { href: `/studio/instances/${o.instance_id}`, text: o.instance_id }), ` ${o.outcome}: ${o.reasons.join("; ")}`)));
        page.dataset.done = "true";
        return;
      }
      await new Promise((resolve) => window.setTimeout(resolve, 400));
    }
  }

  document.getElementById("m-run").addEventListener("click", async () => {
    if (!body || !preview) return;
    // The confirm step: the server moves nothing without confirm: true.
    const n = preview.can_move;
    const label = process.selectedOptions[0] ? process.selectedOptions[0].textContent.replace(/ \(latest version \d+\)$/, "") : body.process_id;
    const yes = await window.PorticoConfirm.ask(
      `Move ${n} running instance${n === 1 ? "" : "s"} of ${label} to version ${preview.to_version}? ` +
      "Each is snapshotted first and can be rolled back from its page.",
      { confirmLabel: `Move ${n === 1 ? "it" : "them"}`, trigger: document.getElementById("m-run") });
    if (!yes) return;
    document.getElementById("m-run").disabled = true;
    document.getElementById("run-card").hidden = false;
    const result = await api("POST", "/api/v1/process-instances/migrate", Object.assign({ confirm: true }, body));
    if (!result.ok) { say("run-summary", (result.error && result.error.message) || "Could not start.", true); return; }
    poll(result.data.id);
  });
})();

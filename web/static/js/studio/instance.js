// Instance page: the bpmn-js viewer marks completed, active, waiting and errored elements;
// buttons retry failed operations and roll back the last migration.
(function () {
  "use strict";
  const page = document.getElementById("instance-page");
  if (!page) return;
  const { api, say } = window.Studio;
  const id = page.dataset.instanceId;

  async function draw() {
    const result = await api("GET", `/api/v1/process-instances/${id}/diagram`);
    if (!result.ok) { say("diagram-summary", "The diagram is not available.", true); return; }
    const viewer = new window.BpmnJS({ container: "#diagram" });
    await viewer.importXML(result.data.bpmn);
    const canvas = viewer.get("canvas");
    const registry = viewer.get("elementRegistry");
    canvas.zoom("fit-viewport");
    const counts = {};
    for (const [element, state] of Object.entries(result.data.states)) {
      counts[state] = (counts[state] || 0) + 1;
      if (registry.get(element)) canvas.addMarker(element, `studio-${state}`);
    }
    // People read the steps' names; an unnamed step is shown by its kind.
    const named = (e) => {
      const shape = registry.get(e);
      const bo = shape && shape.businessObject;
      return (bo && bo.name) || (bo ? bo.$type.replace("bpmn:", "").replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase() : "a step");
    };
    const active = Object.entries(result.data.states).filter(([, s]) => s === "active").map(([e]) => named(e));
    const waiting = Object.entries(result.data.states).filter(([, s]) => s === "waiting").map(([e]) => named(e));
    const done = counts.completed || 0;
    say("diagram-summary", `Now at: ${active.join(", ") || "no step"}.` +
      (waiting.length ? ` Waiting for: ${waiting.join(", ")}.` : "") +
      ` ${done} step${done === 1 ? "" : "s"} done` + (counts.errored ? `, ${counts.errored} failed.` : "."));
    page.dataset.states = JSON.stringify(result.data.states);
  }

  async function act(path, body, done) {
    say("instance-action-status", "Working…");
    const result = await api("POST", `/api/v1/process-instances/${id}/${path}`, body);
    if (result.ok) {
      say("instance-action-status", done);
      window.setTimeout(() => window.location.reload(), 800);
    } else {
      say("instance-action-status", (result.error && result.error.message) || "That did not work.", true);
    }
  }

  const retry = document.getElementById("retry-instance");
  if (retry) retry.addEventListener("click", () => act("retry", undefined, "Failed operations are queued again."));
  const rollback = document.getElementById("rollback-instance");
  if (rollback) {
    rollback.addEventListener("click", () => {
      if (window.confirm("Put this instance back exactly as it was before it moved?")) {
        act("rollback", {}, "Rolled back.");
      }
    });
  }
  draw().catch((err) => say("diagram-summary", `The diagram could not be drawn: ${err.message}`, true));
})();

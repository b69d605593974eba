// Staff task page: the task's form with survey-js-ui; only the server's verdict completes it, and its
// 422 field errors are shown on their questions.
(function () {
  "use strict";
  const root = document.getElementById("task-page");
  if (!root) return;
  const status = document.getElementById("form-status");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const url = `/api/v1/tasks/${encodeURIComponent(root.dataset.taskId)}`;
  const headers = { "X-CSRFToken": csrf, "Accept": "application/json", "Content-Type": "application/json" };
  let done = false;
  fetch(url, { credentials: "same-origin", headers }).then((r) => r.ok ? r.json() : Promise.reject(r)).then((task) => {
    const survey = new Survey.Model(task.form);
    survey.data = task.prefill || {};
    survey.onCompleting.add((sender, options) => {
      if (done) return;
      options.allow = false;
      status.textContent = "Submitting…";
      fetch(`${url}/complete`, { method: "POST", credentials: "same-origin", headers, body: JSON.stringify({ data: sender.data }) })
        .then(async (r) => {
          const body = await r.json().catch(() => ({}));
          if (r.ok) { done = true; sender.doComplete(); window.location.assign("/staff/inbox"); return; }
          status.textContent = (body.error && body.error.message) || "The task could not be completed.";
          for (const [name, messages] of Object.entries((body.error && body.error.details) || {})) {
            const q = sender.getQuestionByName(name);
            if (q) q.errors = messages.map((m) => new Survey.CustomError(m, sender));
          }
        });
    });
    survey.render(document.getElementById("survey"));
    status.textContent = "";
  }).catch(() => { status.textContent = "This task is not available."; });
})();

// Staff task page: the task's form with survey-js-ui; only the server's verdict completes it, and its
// 422 field errors are shown on their questions.
(function () {
  "use strict";
  const root = document.getElementById("task-page");
  if (!root) return;
  const status = document.getElementById("form-status");
  const { api, showServerErrors } = window.Portico;
  const url = `/api/v1/tasks/${encodeURIComponent(root.dataset.taskId)}`;
  let done = false;
  api("GET", url).then((r) => r.ok ? r.json() : Promise.reject(r)).then((task) => {
    const survey = new Survey.Model(task.form);
    survey.data = task.prefill || {};
    survey.onCompleting.add((sender, options) => {
      if (done) return;
      options.allow = false;
      status.textContent = "Submitting…";
      api("POST", `${url}/complete`, { data: sender.data })
        .then(async (r) => {
          const body = await r.json().catch(() => ({}));
          if (r.ok) { done = true; sender.doComplete(); window.location.assign("/staff/inbox"); return; }
          status.textContent = (body.error && body.error.message) || "The task could not be completed.";
          showServerErrors(sender, body.error && body.error.details);
        });
    });
    window.porticoSurvey = survey; // for browser tests and support sessions
    survey.render(document.getElementById("survey"));
    status.textContent = "";
  }).catch(() => { status.textContent = "This task is not available."; });
})();

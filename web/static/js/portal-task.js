// Portal task page: a packet form (or a guardian's approval) rendered with survey-js-ui. Answers are
// saved as progress through the forms API (context "task:<id>", so they resume here) and submitted
// by completing the task. The wiring (server verdict, 422 errors on their questions) is Portico.mountSurvey.
(function () {
  "use strict";
  const root = document.getElementById("task-page");
  if (!root) return;
  const taskId = root.dataset.taskId;
  const context = `task:${taskId}`;
  const formUrl = `/api/v1/clients/${encodeURIComponent(root.dataset.clientId)}/forms/${encodeURIComponent(root.dataset.formKey)}`;
  const { api, mountSurvey, say } = window.Portico;

  Promise.all([
    api("GET", `/api/v1/tasks/${encodeURIComponent(taskId)}`).then((r) => r.ok ? r.json() : Promise.reject(r)),
    api("GET", `${formUrl}?context=${encodeURIComponent(context)}`).then((r) => r.ok ? r.json() : null),
  ]).then(([task, session]) => {
    const survey = new Survey.Model(task.form);
    // Choices a form loads from the API (a client's saved cards) name the client as {client_id}.
    survey.setVariable("client_id", root.dataset.clientId);
    const earlier = JSON.parse(document.getElementById("earlier-answers").textContent || "{}");
    // A returned form starts from the earlier answers; saved progress wins over both.
    survey.data = Object.assign({}, task.prefill || {}, earlier, (session && session.data) || {});
    mountSurvey(survey, {
      submit: (data) => api("POST", `/api/v1/tasks/${encodeURIComponent(taskId)}/complete`, { data }),
      accepted: (r) => r.ok,
      save: (data) => api("PUT", formUrl, { data, context }),
      afterSubmit: () => window.location.assign("/portal/tasks/next"),
      resumed: session && session.has_progress,
    });
  }).catch(() => say("This form is not available."));
})();

// Portal task page: a packet form (or a guardian's approval) rendered with survey-js-ui. Answers are
// saved as progress through the forms API (context "task:<id>", so they resume here) and submitted
// by completing the task; the server's 422 field errors are shown on their questions.
(function () {
  "use strict";
  const root = document.getElementById("task-page");
  if (!root) return;
  const status = document.getElementById("form-status");
  const saveButton = document.getElementById("save-progress");
  const taskId = root.dataset.taskId;
  const context = `task:${taskId}`;
  const formUrl = `/api/v1/clients/${encodeURIComponent(root.dataset.clientId)}/forms/${encodeURIComponent(root.dataset.formKey)}`;
  let submitted = false;

  const { api: call, showServerErrors } = window.Portico;

  function say(text) { status.textContent = text; }

  Promise.all([
    call("GET", `/api/v1/tasks/${encodeURIComponent(taskId)}`).then((r) => r.ok ? r.json() : Promise.reject(r)),
    call("GET", `${formUrl}?context=${encodeURIComponent(context)}`).then((r) => r.ok ? r.json() : null),
  ]).then(([task, session]) => {
    const survey = new Survey.Model(task.form);
    const earlier = JSON.parse(document.getElementById("earlier-answers").textContent || "{}");
    // A returned form starts from the earlier answers; saved progress wins over both.
    survey.data = Object.assign({}, task.prefill || {}, earlier, (session && session.data) || {});
    survey.onCompleting.add((sender, options) => {
      if (submitted) return;
      options.allow = false; // only the server's verdict completes the form
      say("Submitting…");
      call("POST", `/api/v1/tasks/${encodeURIComponent(taskId)}/complete`, { data: sender.data }).then(async (r) => {
        const body = await r.json().catch(() => ({}));
        if (r.ok) {
          submitted = true;
          saveButton.hidden = true;
          say("Thank you — your form was received.");
          sender.doComplete();
          window.location.assign("/portal/tasks");
        } else if (r.status === 422) {
          say("Some answers need attention; they are marked below.");
          showServerErrors(sender, body.error && body.error.details);
        } else {
          say((body.error && body.error.message) || "The form could not be submitted. Please try again.");
        }
      }).catch(() => say("The form could not be submitted. Check your connection and try again."));
    });
    saveButton.hidden = false;
    saveButton.addEventListener("click", () => {
      call("PUT", formUrl, { data: survey.data, context }).then((r) => {
        say(r.ok ? "Your answers are saved. You can come back to finish later." : "Saving failed. Please try again.");
      });
    });
    window.porticoSurvey = survey; // for browser tests and support sessions
    survey.render(document.getElementById("survey"));
    say(session && session.has_progress ? "Welcome back: your saved answers are filled in." : "");
  }).catch(() => say("This form is not available."));
})();

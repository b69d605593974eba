// Portal form page: render a SurveyJS form with survey-js-ui, save progress, submit to the API
// and show the server's field errors on the questions they concern. The server is the authority:
// the browser's own checks are a convenience, a 422 from the API is what counts.
(function () {
  "use strict";
  const root = document.getElementById("form-page");
  if (!root) return;
  const status = document.getElementById("form-status");
  const saveButton = document.getElementById("save-progress");
  const url = `/api/v1/clients/${encodeURIComponent(root.dataset.clientId)}/forms/${encodeURIComponent(root.dataset.formKey)}`;
  const context = root.dataset.context || "";
  let versionId = null;
  let submitted = false;

  const { api, showServerErrors } = window.Portico;

  function call(method, body) {
    return api(method, method === "GET" ? `${url}?context=${encodeURIComponent(context)}` : url, body);
  }

  function say(text) { status.textContent = text; }

  call("GET").then((r) => r.ok ? r.json() : Promise.reject(r)).then((form) => {
    versionId = form.version_id;
    const survey = new Survey.Model(form.definition);
    survey.data = form.data;
    survey.onCompleting.add((sender, options) => {
      if (submitted) return;
      options.allow = false; // only the server's verdict completes the form
      say("Submitting…");
      call("POST", { data: sender.data, context, version_id: versionId }).then(async (r) => {
        const body = await r.json().catch(() => ({}));
        if (r.status === 201) {
          submitted = true;
          saveButton.hidden = true;
          say("Thank you — your form was received.");
          sender.doComplete();
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
      call("PUT", { data: survey.data, context }).then((r) => {
        say(r.ok ? "Your answers are saved. You can come back to finish later." : "Saving failed. Please try again.");
      });
    });
    window.porticoSurvey = survey; // for browser tests and support sessions
    survey.render(document.getElementById("survey"));
    say(form.has_progress ? "Welcome back: your saved answers are filled in." : "");
  }).catch(() => say("This form is not available."));
})();

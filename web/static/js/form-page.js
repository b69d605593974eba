// Portal form page: render a SurveyJS form with survey-js-ui, save progress, submit to the forms API.
// The wiring (server verdict, 422 errors on their questions, saving) is Portico.mountSurvey.
(function () {
  "use strict";
  const root = document.getElementById("form-page");
  if (!root) return;
  const url = `/api/v1/clients/${encodeURIComponent(root.dataset.clientId)}/forms/${encodeURIComponent(root.dataset.formKey)}`;
  const context = root.dataset.context || "";
  const { api, mountSurvey, say } = window.Portico;

  api("GET", `${url}?context=${encodeURIComponent(context)}`).then((r) => r.ok ? r.json() : Promise.reject(r)).then((form) => {
    const survey = new Survey.Model(form.definition);
    survey.data = form.data;
    mountSurvey(survey, {
      submit: (data) => api("POST", url, { data, context, version_id: form.version_id }),
      accepted: (r) => r.status === 201,
      save: (data) => api("PUT", url, { data, context }),
      resumed: form.has_progress,
    });
  }).catch(() => say("This form is not available."));
})();

// Staff filling a dynamic form for a client (a session note, say): prefilled from the client record by
// the forms API, progress saved there, and submitted to the dynamic-forms fill endpoint, which seals it
// and files its PDF in the client's General Documents. The wiring is Portico.mountSurvey.
(function () {
  "use strict";
  const root = document.getElementById("dynamic-form-page");
  if (!root) return;
  const client = encodeURIComponent(root.dataset.clientId);
  const key = encodeURIComponent(root.dataset.formKey);
  const formUrl = `/api/v1/clients/${client}/forms/${key}`;
  const { api, mountSurvey, say } = window.Portico;

  api("GET", formUrl).then((r) => r.ok ? r.json() : Promise.reject(r)).then((session) => {
    const survey = new Survey.Model(session.definition);
    survey.data = session.data || {};
    mountSurvey(survey, {
      submit: (data) => api("POST", `/api/v1/clients/${client}/dynamic-forms/${key}/fill`,
                            { data, version_id: session.version_id }),
      accepted: (r) => r.ok,
      save: (data) => api("PUT", formUrl, { data, context: "" }),
      afterSubmit: () => window.location.assign(`/staff/clients/${client}/documents`),
      resumed: session.has_progress,
    });
  }).catch(() => say("This form is not available."));
})();

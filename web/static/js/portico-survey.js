// Shared by the pages that render a SurveyJS form: JSON calls to /api/v1 with the session's CSRF
// token, and the server's 422 field errors shown on the questions they concern (the server is
// the authority on what is valid; the browser's own checks are only a convenience).
(function () {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;

  function api(method, url, body) {
    const opts = { method, credentials: "same-origin", headers: { "X-CSRFToken": csrf, "Accept": "application/json" } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts);
  }

  function showServerErrors(survey, details) {
    let first = null;
    for (const [name, messages] of Object.entries(details || {})) {
      const question = survey.getQuestionByName(name);
      if (!question) continue;
      question.errors = messages.map((m) => new Survey.CustomError(m, survey));
      first = first || question;
    }
    if (first) survey.focusQuestion(first.name);
  }

  window.Portico = { api, showServerErrors };
})();

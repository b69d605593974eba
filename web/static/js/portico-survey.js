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

  function say(text) { document.getElementById("form-status").textContent = text; }

  // A form of several pages says where the person is: "Page 2 of 4 — Your health", with a progress bar,
  // outside the survey (survey-core's own progress titles fail axe's contrast check), announced politely.
  function pageIndicator(survey) {
    const box = document.getElementById("form-pages");
    if (!box) return;
    const label = document.getElementById("form-page-label");
    const bar = document.getElementById("form-page-progress");
    function update() {
      const pages = survey.visiblePages;
      if (pages.length < 2 || survey.state === "completed") { box.hidden = true; return; }
      const at = Math.max(0, pages.indexOf(survey.currentPage));
      const page = survey.currentPage;
      // An untitled page is not named by its key (people never see form keys).
      const title = page && page.title && page.title !== page.name ? page.title : "";
      label.textContent = `Page ${at + 1} of ${pages.length}${title ? ` — ${title}` : ""}`;
      bar.max = pages.length;
      bar.value = at + 1;
      box.hidden = false;
    }
    survey.onCurrentPageChanged.add(update);
    survey.onPageVisibleChanged.add(update);
    survey.onComplete.add(update);
    update();
  }

  // Both form pages: only the server's verdict completes the form (a 422 marks the questions it
  // names), progress is saved on request, and the status line says what happened.
  // submit(data) and save(data) return fetch promises; accepted(response) tells a submission taken.
  function mountSurvey(survey, { submit, accepted, save, afterSubmit, resumed }) {
    const saveButton = document.getElementById("save-progress");
    let submitted = false;
    survey.onCompleting.add((sender, options) => {
      if (submitted) return;
      options.allow = false;
      say("Submitting…");
      submit(sender.data).then(async (r) => {
        const body = await r.json().catch(() => ({}));
        if (accepted(r)) {
          submitted = true;
          saveButton.hidden = true;
          say("Thank you — your form was received.");
          sender.doComplete();
          if (afterSubmit) afterSubmit(body);
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
      save(survey.data).then((r) => {
        say(r.ok ? "Your answers are saved. You can come back to finish later." : "Saving failed. Please try again.");
      });
    });
    pageIndicator(survey);
    window.porticoSurvey = survey; // for browser tests and support sessions
    survey.render(document.getElementById("survey"));
    say(resumed ? "Welcome back: your saved answers are filled in." : "");
  }

  window.Portico = { api, showServerErrors, mountSurvey, say };
})();

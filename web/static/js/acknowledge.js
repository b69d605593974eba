// The acknowledgement form: a comment field shown, and required, as soon as "Return" is chosen, so a
// form is never returned without telling the client what to change.
(function () {
  const form = document.getElementById("decision-form");
  if (!form) return;
  const field = document.getElementById("return-comment-field");
  const comment = document.getElementById("return-comment");
  function sync() {
    const returning = form.elements.decision.value === "return";
    field.hidden = !returning;
    comment.required = returning;
    if (returning && document.activeElement && document.activeElement.name === "decision") comment.focus();
  }
  form.addEventListener("change", function (event) { if (event.target.name === "decision") sync(); });
  sync();
})();

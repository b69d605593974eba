// The confirm step (issue 16): a submit button with data-confirm="<sentence>" asks that sentence in a
// native <dialog> before its form goes; Confirm sends the form with confirmed=yes, Go back (or Escape)
// sends nothing. Focus returns to the button. Scripts ask too: Portico confirm's ask(sentence, opts)
// resolves true or false. Without JavaScript the server asks on a page of its own (web/pages/_confirm.py).
(function () {
  "use strict";
  let dialog = null;

  function build() {
    dialog = document.createElement("dialog");
    dialog.className = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-dialog-title");
    dialog.setAttribute("aria-describedby", "confirm-dialog-sentence");
    dialog.innerHTML =
      '<form method="dialog">' +
      '<h2 id="confirm-dialog-title">Please confirm</h2>' +
      '<p id="confirm-dialog-sentence" class="confirm-sentence"></p>' +
      '<p class="confirm-actions">' +
      '<button type="submit" value="confirm" id="confirm-dialog-yes"></button> ' +
      '<button type="submit" value="back" class="secondary" id="confirm-dialog-back">Go back</button>' +
      "</p></form>";
    document.body.append(dialog);
    return dialog;
  }

  // Opens the dialog with `sentence`; resolves true on Confirm, false on Go back or Escape.
  function ask(sentence, { confirmLabel = "Confirm", danger = false, trigger = document.activeElement } = {}) {
    const d = dialog || build();
    d.querySelector("#confirm-dialog-sentence").textContent = sentence;
    const yes = d.querySelector("#confirm-dialog-yes");
    yes.textContent = confirmLabel;
    yes.classList.toggle("danger", danger);
    d.returnValue = "";
    return new Promise((resolve) => {
      d.addEventListener("close", () => {
        if (trigger && typeof trigger.focus === "function" && trigger.isConnected) trigger.focus();
        resolve(d.returnValue === "confirm");
      }, { once: true });
      d.showModal();
      // The safe choice has the focus first: Enter on an unread dialog books or voids nothing.
      d.querySelector("#confirm-dialog-back").focus();
    });
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    const button = event.submitter;
    if (!(form instanceof HTMLFormElement) || !button || !button.dataset || button.dataset.confirm === undefined) return;
    let field = form.elements.namedItem("confirmed");
    if (field && field.value === "yes") return; // asked and confirmed: let it go
    event.preventDefault();
    ask(button.dataset.confirm, { confirmLabel: button.dataset.confirmLabel || "Confirm",
                                  danger: button.hasAttribute("data-confirm-danger"), trigger: button })
      .then((yes) => {
        if (!yes) return;
        if (!field) {
          field = Object.assign(document.createElement("input"), { type: "hidden", name: "confirmed" });
          form.append(field);
        }
        field.value = "yes";
        form.requestSubmit(button);
      });
  });

  // A page brought back from the browser's history must ask again.
  window.addEventListener("pageshow", () => {
    for (const field of document.querySelectorAll('input[type="hidden"][name="confirmed"]')) field.value = "";
  });

  window.PorticoConfirm = { ask };
})();

// Portal Billing page with Stripe: each open invoice's pay form mounts Stripe's Payment Element. The
// card never reaches our server: we open a payment intent (our API), Stripe.js confirms it with Stripe,
// and Stripe's webhook tells the server, which credits the invoice and mails the receipt.
(function () {
  "use strict";
  const forms = document.querySelectorAll("form[data-stripe-invoice]");
  if (!forms.length || typeof Stripe === "undefined") return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const stripe = Stripe(forms[0].dataset.stripeKey);

  forms.forEach((form) => {
    const status = form.querySelector("[role=status]");
    const button = form.querySelector("button[type=submit]");
    let elements = null;
    button.disabled = true;
    fetch(`/api/v1/invoices/${encodeURIComponent(form.dataset.stripeInvoice)}/payment-intent`, {
      method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf, "Accept": "application/json" },
    }).then((r) => r.ok ? r.json() : Promise.reject(r)).then((intent) => {
      elements = stripe.elements({ clientSecret: intent.client_secret });
      elements.create("payment").mount(form.querySelector(".payment-element"));
      button.disabled = false;
    }).catch(() => { status.textContent = "Card payment is not available right now; please try again later."; });

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!elements) return;
      button.disabled = true;
      status.textContent = "Paying…";
      stripe.confirmPayment({ elements, redirect: "if_required",
                              confirmParams: { return_url: window.location.href } }).then((result) => {
        if (result.error) {
          status.textContent = result.error.message || "The payment did not go through.";
          button.disabled = false;
          return;
        }
        status.textContent = "Thank you — payment received. Your receipt will appear here shortly.";
        window.setTimeout(() => window.location.reload(), 4000);
      });
    });
  });
})();

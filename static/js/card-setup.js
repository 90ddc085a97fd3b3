/*
 * The card field of the card step and the pay page, with Stripe.js.
 *
 * [data-card-setup] forms: mount Stripe's Card Element, confirm the SetupIntent with Stripe
 * (confirmCardSetup, which also runs 3-D Secure when the bank asks), then post the form to
 * our server with only the SetupIntent id. [data-card-action] forms: the bank wants the
 * family to authenticate a payment; confirmCardPayment runs 3-D Secure, then the form posts
 * the PaymentIntent id and the server asks Stripe how it went.
 *
 * The card number, expiry and security code go from the Card Element to Stripe only: the
 * Element's inputs have no name, so a form post can never carry them. The publishable key
 * and client secret come from data attributes (no inline script, for the CSP).
 *
 * Written without the global "Element" name: localstripe's test copy of Stripe.js defines
 * a global class of that name.
 */
(function () {
  "use strict";

  var NOTHING_CHARGED = " Nothing was charged, and the rest of your request is saved.";
  var NOT_LOADED =
    "The secure card form did not load. Check your connection and reload the page.";

  function parts(form) {
    return {
      errors: form.querySelector("[data-card-errors]"),
      status: form.querySelector("[data-card-status]"),
      button: form.querySelector("[data-card-submit]"),
    };
  }

  function busy(form, on, text) {
    var p = parts(form);
    p.button.disabled = on;
    p.button.setAttribute("aria-disabled", on ? "true" : "false");
    if (p.status) {
      p.status.textContent = on ? text : "";
    }
  }

  function showError(form, message) {
    // The error region is role="alert": screen readers announce the new text at once.
    parts(form).errors.textContent = message;
  }

  function stripeFor(form) {
    if (typeof window.Stripe !== "function") {
      showError(form, NOT_LOADED);
      parts(form).button.disabled = true;
      return null;
    }
    return window.Stripe(form.dataset.stripeKey);
  }

  function cardSetup(form) {
    var stripe = stripeFor(form);
    if (!stripe) {
      return;
    }
    var card = stripe.elements().create("card");
    card.mount(form.querySelector("[data-card-element]"));
    card.on("change", function (event) {
      // Stripe reports an incomplete or invalid number while typing; clear it once fixed.
      showError(form, event && event.error ? event.error.message : "");
    });
    var field = form.querySelector("input[name=setup_intent]");
    var sending = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (sending) {
        return;
      }
      sending = true;
      showError(form, "");
      busy(form, true, "Saving your card with Stripe…");
      stripe
        .confirmCardSetup(form.dataset.clientSecret, { payment_method: { card: card } })
        .then(
          function (result) {
            if (result.error) {
              var message = result.error.message || "The card could not be saved.";
              showError(form, message + NOTHING_CHARGED);
              busy(form, false);
              sending = false;
              return;
            }
            field.value = result.setupIntent.id;
            busy(form, true, "Card saved. Continuing…");
            form.submit(); // posts the CSRF token, the action and the SetupIntent id only
          },
          function () {
            showError(form, "The card could not be saved." + NOTHING_CHARGED);
            busy(form, false);
            sending = false;
          }
        );
    });
  }

  function cardAction(form) {
    var stripe = stripeFor(form);
    if (!stripe) {
      return;
    }
    var sending = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (sending) {
        return;
      }
      sending = true;
      showError(form, "");
      busy(form, true, "Waiting for your bank…");
      var done = function () {
        // Whatever Stripe.js says, the server fetches the payment from Stripe and decides.
        form.submit();
      };
      stripe.confirmCardPayment(form.dataset.clientSecret).then(done, done);
    });
  }

  function start() {
    document.querySelectorAll("form[data-card-setup]").forEach(cardSetup);
    document.querySelectorAll("form[data-card-action]").forEach(cardAction);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

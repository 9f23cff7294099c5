// The customer portal: forms submit once (a double tap on a phone must not send twice; the server
// is idempotent as well). No inline code: the pages' CSP forbids it.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("form[data-once]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
      // Disabled after this submission took the pressed button's value.
      setTimeout(() => form.querySelectorAll("button").forEach((b) => { b.disabled = true; }), 0);
    });
  });
});

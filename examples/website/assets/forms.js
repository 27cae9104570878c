// The site's forms, enhanced. Without JavaScript each one is a plain HTML form
// post and the API answers with a 303 to the confirmation page. With it, the
// form posts JSON with fetch and shows the API's own error messages in the
// GOV.UK error-summary pattern: a summary at the top linking to each field,
// each message above its field, and focus moved to the summary.
import "./menu.js";
import { element } from "./site.js";

const CONFIRMATION_PAGE = "/request-received.html";
const SERVICE_PROBLEM =
  "Sorry, there is a problem with the service. Try again later. Your answers are still in the form.";
const CONNECTION_PROBLEM =
  "We could not send your request. Check your internet connection and try again. Your answers are still in the form.";
const PAGE_TITLE = document.title;

document.querySelectorAll("form[data-api-form]").forEach(enhance);

function enhance(form) {
  const button = form.querySelector('button[type="submit"]');
  let sending = false;
  let sentBody = null;
  let idempotencyKey = null;

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (sending) {
      return; // a second click must not send it twice
    }
    const body = JSON.stringify(answers(form));
    if (body !== sentBody) {
      // The same answers sent again, after a lost connection say, keep their
      // key, so the API records and forwards them once.
      sentBody = body;
      idempotencyKey = crypto.randomUUID();
    }
    sending = true;
    button.setAttribute("aria-disabled", "true");
    try {
      const response = await fetch(form.action, {
        method: "POST",
        headers: {
          Accept: "application/json",
          "Content-Type": "application/json",
          "Idempotency-Key": idempotencyKey,
        },
        body,
      });
      const answer = await response.json().catch(() => null);
      if (response.ok && answer?.reference) {
        window.location.assign(`${CONFIRMATION_PAGE}?${new URLSearchParams({ reference: answer.reference })}`);
        return;
      }
      showErrors(form, answer?.error?.fields ?? {}, answer?.error?.message ?? SERVICE_PROBLEM);
    } catch {
      showErrors(form, {}, CONNECTION_PROBLEM);
    } finally {
      sending = false;
      button.removeAttribute("aria-disabled");
    }
  });
}

// Fields left blank are left out, as optional fields should be.
function answers(form) {
  return Object.fromEntries([...new FormData(form)].filter(([, value]) => value.trim() !== ""));
}

function showErrors(form, fields, message) {
  clearErrors(form);
  const controls = [...form.elements];
  const errors = Object.entries(fields)
    .map(([name, text]) => ({ text, field: markField(form, name, text) }))
    // In the summary, in the order the fields appear on the page.
    .sort((a, b) => position(controls, a.field) - position(controls, b.field));
  const items = errors.length
    ? errors.map(({ text, field }) => (field ? element("a", { href: `#${field.id}` }, text) : text))
    : [message];

  const summary = element(
    "div",
    { class: "govuk-error-summary", tabindex: "-1", "data-error-summary": "" },
    element(
      "div",
      { role: "alert" },
      element("h2", { class: "govuk-error-summary__title" }, "There is a problem"),
      element(
        "div",
        { class: "govuk-error-summary__body" },
        element(
          "ul",
          { class: "govuk-list govuk-error-summary__list" },
          ...items.map((item) => element("li", {}, item)),
        ),
      ),
    ),
  );
  summary.addEventListener("click", focusField);
  form.closest("main").prepend(summary);
  document.title = `Error: ${PAGE_TITLE}`;
  summary.focus();
}

function position(controls, field) {
  const index = controls.indexOf(field);
  return index === -1 ? controls.length : index;
}

// Shows a message above a field and ties it to the field (or to the
// fieldset of a group of radios) with aria-describedby.
function markField(form, name, text) {
  const control = form.elements.namedItem(name);
  const radios = control instanceof RadioNodeList;
  const field = radios ? control[0] : control;
  if (!field || field.closest(".app-honeypot")) {
    return null;
  }
  const error = element(
    "p",
    { class: "govuk-error-message", id: `${name}-error` },
    element("span", { class: "govuk-visually-hidden" }, "Error:"),
    ` ${text}`,
  );
  const described = radios ? field.closest("fieldset") : field;
  if (radios) {
    described.querySelector(".govuk-radios").before(error);
  } else {
    field.before(error);
    field.classList.add(field.tagName === "TEXTAREA" ? "govuk-textarea--error" : "govuk-input--error");
  }
  field.closest(".govuk-form-group").classList.add("govuk-form-group--error");
  const ids = [described.getAttribute("aria-describedby"), error.id];
  described.setAttribute("aria-describedby", ids.filter(Boolean).join(" "));
  return field;
}

function clearErrors(form) {
  document.querySelectorAll("[data-error-summary]").forEach((summary) => summary.remove());
  form.querySelectorAll(".govuk-error-message").forEach((message) => message.remove());
  form.querySelectorAll(".govuk-form-group--error").forEach((group) => group.classList.remove("govuk-form-group--error"));
  form.querySelectorAll(".govuk-input--error, .govuk-textarea--error").forEach((field) => {
    field.classList.remove("govuk-input--error", "govuk-textarea--error");
  });
  form.querySelectorAll("[aria-describedby]").forEach((described) => {
    const ids = described.getAttribute("aria-describedby").split(" ").filter((id) => !id.endsWith("-error"));
    if (ids.length) {
      described.setAttribute("aria-describedby", ids.join(" "));
    } else {
      described.removeAttribute("aria-describedby");
    }
  });
  document.title = PAGE_TITLE;
}

// As GOV.UK's error summary does: a link moves focus to its field and
// brings the field's label or legend into view with it.
function focusField(event) {
  const link = event.target.closest('a[href^="#"]');
  const field = link && document.getElementById(link.hash.slice(1));
  if (!field) {
    return;
  }
  event.preventDefault();
  const label = field.closest("fieldset")?.querySelector("legend") ?? field.labels?.[0] ?? field;
  label.scrollIntoView();
  field.focus({ preventScroll: true });
}

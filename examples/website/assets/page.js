// The page view: every site path without a file of its own is served
// index.html, and this fills it with the menu and the page the API has at
// that path.
import { menu } from "./menu.js";
import { ApiError, element, getJSON, sitePath } from "./site.js";

const SITE_NAME = "National Leadership Centre";
const ACCESSIBLE_FORMAT_FORM = "/request-accessible-format.html";
const main = document.getElementById("main-content");
const path = sitePath(window.location.pathname);

showPage().finally(() => main.removeAttribute("aria-busy"));

async function showPage() {
  if (path === "/") {
    // The home page is the menu and the latest posts: no content of its own to ask for.
    await showHome();
    return;
  }
  try {
    showContent(await getJSON(`/content?path=${encodeURIComponent(path)}`));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      showNotFound();
    } else {
      showProblem();
    }
  }
}

function showContent(page) {
  if (page.path && page.path !== path) {
    // The API followed a redirect declared in the content: show the new address.
    window.history.replaceState(null, "", page.path);
  }
  setTitle(page.title, page.metadesc);
  const body = element("div", { class: "app-content" });
  // The page's HTML is the site's own content, rendered by the API from the
  // editors' Markdown exactly as the site's build would render it.
  body.innerHTML = page.html;
  show(
    page.notice ? notice(page.notice) : null,
    element("h1", { class: "govuk-heading-l" }, page.title),
    postDetails(page),
    body,
    page.documents?.length ? documentList(page.documents) : null,
  );
}

// A post's `notice` (front matter) in GOV.UK's notification banner.
function notice(text) {
  return element(
    "div",
    { class: "govuk-notification-banner", role: "region", "aria-labelledby": "app-notice-title" },
    element(
      "div",
      { class: "govuk-notification-banner__header" },
      element("h2", { class: "govuk-notification-banner__title", id: "app-notice-title" }, "Important"),
    ),
    element(
      "div",
      { class: "govuk-notification-banner__content" },
      element("p", { class: "govuk-notification-banner__heading" }, text),
    ),
  );
}

function postDetails(page) {
  if (!page.date) {
    return null;
  }
  const published = new Date(`${page.date}T12:00:00Z`).toLocaleDateString("en-GB", {
    day: "numeric",
    month: "long",
    year: "numeric",
  });
  const details = [page.author, page.reading_time_minutes && `${page.reading_time_minutes} minute read`];
  return element(
    "p",
    { class: "govuk-body-s app-meta" },
    element("time", { datetime: page.date }, published),
    ...details.filter(Boolean).map((detail) => ` · ${detail}`),
  );
}

function documentList(documents) {
  return element(
    "section",
    { "aria-labelledby": "app-documents-heading" },
    element("h2", { class: "govuk-heading-m", id: "app-documents-heading" }, "Documents"),
    element("ul", { class: "govuk-list app-documents" }, ...documents.map(documentItem)),
  );
}

function documentItem(file) {
  const details = [file.type, file.size, file.pages && `${file.pages} ${file.pages === 1 ? "page" : "pages"}`];
  const request = new URLSearchParams({ document_url: file.url, document_title: file.title });
  return element(
    "li",
    { class: "app-documents__item" },
    element("p", { class: "govuk-body" }, element("a", { class: "govuk-link", href: file.url }, file.title)),
    element("p", { class: "govuk-body-s app-meta" }, details.filter(Boolean).join(", ")),
    element(
      "p",
      { class: "govuk-body" },
      element(
        "a",
        { class: "govuk-link", href: `${ACCESSIBLE_FORMAT_FORM}?${request}` },
        "Request an accessible format",
        element("span", { class: "govuk-visually-hidden" }, ` of ${file.title}`),
      ),
    ),
  );
}

async function showHome() {
  setTitle(null);
  const [items, posts] = await Promise.all([
    menu.catch(() => []),
    getJSON("/posts?limit=5").then((answer) => answer.posts, () => []),
  ]);
  const links = (list) =>
    element(
      "ul",
      { class: "govuk-list" },
      ...list.map((item) => element("li", {}, element("a", { class: "govuk-link", href: item.path }, item.title))),
    );
  show(
    element("h1", { class: "govuk-heading-l" }, SITE_NAME),
    element("p", { class: "govuk-body" }, "This example site reads every page from the content API."),
    items.length ? element("h2", { class: "govuk-heading-m" }, "Pages") : null,
    items.length ? links(items) : null,
    posts.length ? element("h2", { class: "govuk-heading-m" }, "Latest blog posts") : null,
    posts.length ? links(posts) : null,
  );
}

function showNotFound() {
  setTitle("Page not found");
  show(
    element("h1", { class: "govuk-heading-l" }, "Page not found"),
    element("p", { class: "govuk-body" }, "If you typed the web address, check it is correct."),
    element("p", { class: "govuk-body" }, "If you pasted the web address, check you copied the entire address."),
    element("p", { class: "govuk-body" }, element("a", { class: "govuk-link", href: "/" }, "Go to the home page")),
  );
}

function showProblem() {
  setTitle("Sorry, there is a problem with the service");
  show(
    element("h1", { class: "govuk-heading-l" }, "Sorry, there is a problem with the service"),
    element("p", { class: "govuk-body" }, "Try again later."),
  );
}

// The page's parts, leaving out those it does not have.
function show(...parts) {
  main.replaceChildren(...parts.filter(Boolean));
}

function setTitle(title, description) {
  document.title = title ? `${title} - ${SITE_NAME}` : SITE_NAME;
  if (description) {
    document.querySelector('meta[name="description"]').setAttribute("content", description);
  }
}

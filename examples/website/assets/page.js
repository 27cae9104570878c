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
  try {
    showContent(await getJSON(`/content?path=${encodeURIComponent(path)}`));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      if (path === "/") {
        await showHome();
      } else {
        showNotFound();
      }
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
    element("h1", {}, page.title),
    postDetails(page),
    body,
    page.documents?.length ? documentList(page.documents) : null,
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
    { class: "app-meta" },
    element("time", { datetime: page.date }, published),
    ...details.filter(Boolean).map((detail) => ` · ${detail}`),
  );
}

function documentList(documents) {
  return element(
    "section",
    { "aria-labelledby": "app-documents-heading" },
    element("h2", { id: "app-documents-heading" }, "Documents"),
    element("ul", { class: "app-documents" }, ...documents.map(documentItem)),
  );
}

function documentItem(file) {
  const details = [file.type, file.size, file.pages && `${file.pages} ${file.pages === 1 ? "page" : "pages"}`];
  const request = new URLSearchParams({ document_url: file.url, document_title: file.title });
  return element(
    "li",
    { class: "app-documents__item" },
    element("p", {}, element("a", { href: file.url }, file.title)),
    element("p", { class: "app-meta" }, details.filter(Boolean).join(", ")),
    element(
      "p",
      {},
      element(
        "a",
        { href: `${ACCESSIBLE_FORMAT_FORM}?${request}` },
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
    element("ul", {}, ...list.map((item) => element("li", {}, element("a", { href: item.path }, item.title))));
  show(
    element("h1", {}, SITE_NAME),
    element("p", {}, "This example site reads every page from the content API."),
    items.length ? element("h2", {}, "Pages") : null,
    items.length ? links(items) : null,
    posts.length ? element("h2", {}, "Latest blog posts") : null,
    posts.length ? links(posts) : null,
  );
}

function showNotFound() {
  setTitle("Page not found");
  show(
    element("h1", {}, "Page not found"),
    element("p", {}, "If you typed the web address, check it is correct."),
    element("p", {}, "If you pasted the web address, check you copied the entire address."),
    element("p", {}, element("a", { href: "/" }, "Go to the home page")),
  );
}

function showProblem() {
  setTitle("Sorry, there is a problem with the service");
  show(
    element("h1", {}, "Sorry, there is a problem with the service"),
    element("p", {}, "Try again later."),
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

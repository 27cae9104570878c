// The search results page: the words in ?q= (the header's search box puts
// them there), sent to the API's GET /search, and what it found, best first.
import "./menu.js";
import { element, getJSON } from "./site.js";

const SITE_NAME = "National Leadership Centre";
const main = document.getElementById("main-content");
const query = (new URLSearchParams(window.location.search).get("q") || "").trim();

showResults().finally(() => main.removeAttribute("aria-busy"));

async function showResults() {
  if (!query) {
    show("Search", element("p", { class: "govuk-body" }, "Enter some words in the search box to find a page or blog post."));
    return;
  }
  let answer;
  try {
    answer = await getJSON(`/search?q=${encodeURIComponent(query)}&limit=20`);
  } catch {
    show("Sorry, there is a problem with the service", element("p", { class: "govuk-body" }, "Try again later."));
    return;
  }
  const { results } = answer;
  const count = element(
    "p",
    { class: "govuk-body app-search-count" },
    `${results.length} ${results.length === 1 ? "result" : "results"} for “${query}”`,
  );
  if (!results.length) {
    show(
      "Search results",
      count,
      element("p", { class: "govuk-body" }, "There are no matching results."),
      element("p", { class: "govuk-body" }, "Improve your search results by:"),
      element(
        "ul",
        { class: "govuk-list govuk-list--bullet" },
        element("li", {}, "checking your spelling"),
        element("li", {}, "using other words or fewer words"),
      ),
    );
    return;
  }
  show("Search results", count, element("ol", { class: "app-search-results" }, ...results.map(resultItem)));
}

function resultItem(result) {
  return element(
    "li",
    { class: "app-search-results__item" },
    element(
      "h2",
      { class: "govuk-heading-s app-search-results__title" },
      element("a", { class: "govuk-link", href: result.path }, result.title),
    ),
    element("p", { class: "govuk-body-s app-meta" }, result.kind === "post" ? "Blog post" : "Page"),
    element("p", { class: "govuk-body" }, ...snippet(result.snippet)),
  );
}

// The API's snippet is escaped text with the matching words in <mark>: keep
// those marks and nothing else, so no other markup can reach the page.
function snippet(html) {
  const parsed = new DOMParser().parseFromString(`<body>${html}</body>`, "text/html");
  return [...parsed.body.childNodes].map((node) =>
    node.nodeName === "MARK" ? element("mark", {}, node.textContent) : document.createTextNode(node.textContent),
  );
}

function show(heading, ...parts) {
  document.title = `${query ? `${heading}: ${query}` : heading} - ${SITE_NAME}`;
  main.replaceChildren(element("h1", { class: "govuk-heading-l" }, heading), ...parts);
}

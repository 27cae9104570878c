// What every page of the example site shares: GOV.UK Frontend's components,
// the API's address, JSON reads and the menu. The site server writes the
// API's base URL in below, as a real site's build step would.
export const API_URL = "%API_URL%";

// GOV.UK Frontend's own scripts (radios' conditional reveal, character
// count, the menu toggle), from its precompiled bundle. Imported apart, so
// that the site still works if the bundle cannot load.
import("/assets/govuk/govuk-frontend.min.js")
  .then(({ initAll, isSupported }) => {
    document.body.classList.add("js-enabled", "govuk-frontend-supported");
    if (isSupported()) {
      initAll();
    }
  })
  .catch(() => {});

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `The API answered ${status}`);
    this.status = status;
    this.body = body;
  }
}

export async function getJSON(path) {
  const response = await fetch(API_URL + path, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    throw new ApiError(response.status, body);
  }
  return body;
}

// Builds an element from text only: whatever the API returns is never parsed
// as HTML here (the page body is the one exception, in page.js).
export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined) {
      node.setAttribute(name, value);
    }
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

// A site path as the API knows it: /what-we-do/index.html is /what-we-do/.
export function sitePath(pathname) {
  return pathname.endsWith("/index.html") ? pathname.slice(0, -"index.html".length) : pathname;
}

// The menu is the `nav` collection, already in the site's menu order.
export async function showMenu(currentPath) {
  const nav = document.querySelector("[data-site-menu]");
  const { items } = await getJSON("/collections/nav");
  const links = items.map((item) => {
    const current = item.path === currentPath;
    return element(
      "li",
      { class: `govuk-service-navigation__item${current ? " govuk-service-navigation__item--active" : ""}` },
      element(
        "a",
        { class: "govuk-service-navigation__link", href: item.path, "aria-current": current ? "page" : null },
        item.navtitle || item.title,
      ),
    );
  });
  nav.replaceChildren(...links);
  return items;
}

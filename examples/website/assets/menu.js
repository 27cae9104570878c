// Every page shows the site's menu, from the API's `nav` collection.
import { showMenu, sitePath } from "./site.js";

export const menu = showMenu(sitePath(window.location.pathname));
menu.catch(() => {}); // each page still works without its menu

"""The Eleventy engine: which files are sources, front matter, the site's
configuration, Markdown/Liquid/Nunjucks, the limits on what a file may cost,
linked documents, Netlify redirects, rendering a set, and the problems found.

Pure: no AWS, no tables, no HTTP. May import `read/` for the records it
renders to and the URL paths it normalises, and chalicelib's errors."""

"""The site's content: paths, front matter, rendering as Eleventy does,
document links, publishing, and the reads behind the content routes."""

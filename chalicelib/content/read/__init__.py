"""The read path behind the content routes: reads, search (the index format
publishing writes and the queries run on it), URL paths, the records served
and their summaries.

Imports neither `eleventy/` nor `publishing/`, so that a cold content GET
loads neither; both may import from here."""

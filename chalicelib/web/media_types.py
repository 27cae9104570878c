"""The media types the API reads and answers in, named once: the routes,
the error map and the OpenAPI document all use these."""

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
HTML = "text/html"
ATOM = "application/atom+xml"
JSON_FEED = "application/feed+json"
XML = "application/xml"

"""The write side: a plan (a set rendered by `eleventy/` and checked against
S3's and DynamoDB's limits), the table items it becomes, reconciling the
table, releases, the content bucket (bucket.py, its only S3 calls), the lease,
the derived records (search index, feeds, sitemap, visibility), invalidating
CloudFront, announcing publishes, and the scheduled go-live. Entry points are
in publish.py.

May import `eleventy/`, `read/`, aws, tables. Nothing on the read path imports it."""

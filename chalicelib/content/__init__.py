"""The site's content, in three packages by role:

- `eleventy/`: the sources rendered as Eleventy would (pure: no AWS, no tables);
- `publishing/`: the write side, making S3 and the content table serve a set;
- `read/`: the read path behind the content routes (imports neither of the others).
"""

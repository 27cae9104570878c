"""The web layer: routes as Chalice blueprints, response shaping, and the
one place errors become HTTP status codes. Nothing here touches boto3."""

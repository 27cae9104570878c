"""National Leadership Centre content and enquiries API."""

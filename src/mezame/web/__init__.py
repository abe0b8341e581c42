"""Server-rendered UI (Jinja2 + htmx), Japanese first, over the same services as the API."""

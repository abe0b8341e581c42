"""The HTTP shell: OpenAPI REST under /api/v1 and the web UI, over the same services."""

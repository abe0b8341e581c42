"""Import: read customer files, validate their rows, and upsert them idempotently."""

"""Users, roles, passwords (argon2id) and API tokens."""

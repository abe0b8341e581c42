"""A campaign's definition: created from a plan (web form, API), read back whole."""

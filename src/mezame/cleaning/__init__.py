"""Cleaning the customer database: match keys for Japanese data and duplicate detection (pure)."""

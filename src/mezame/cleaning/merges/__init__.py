"""Merging duplicate records and undoing merges."""

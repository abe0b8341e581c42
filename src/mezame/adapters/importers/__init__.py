"""Readers for the files customers import: CSV (UTF-8 or CP932) and .xlsx."""

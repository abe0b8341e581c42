"""Segments: saved, composable contact filters, counted in SQL; and contact tags."""

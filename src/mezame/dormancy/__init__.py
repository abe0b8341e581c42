"""Dormancy: who is asleep, of which kind, why they left, and how sure we are."""

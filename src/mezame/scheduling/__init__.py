"""Campaigns over time: schedules, recurring runs, sequences (scheduling.service)."""

"""Campaigns: content, audience, the send log and its state machines."""

"""Sending: the campaign sender (claim, render, send, mark) and message composition."""

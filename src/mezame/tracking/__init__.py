"""Tracking hooks: open pixel, signed click redirect, one-click unsubscribe."""

"""The send log seen from the sender: lease, claims, marks, outcomes (storage side)."""

"""Bounce intake: DSNs, complaints and mailto unsubscribes from a mailbox or a webhook."""

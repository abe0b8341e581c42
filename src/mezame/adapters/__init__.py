"""Adapters to the outside world: file importers, mail, chat, exports."""

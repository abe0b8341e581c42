"""mezame: wakes dormant B2B customers (休眠顧客の掘り起こし)."""

__version__ = "0.1.0"

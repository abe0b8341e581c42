"""Who may be mailed: consent rules and the global suppression list, in SQL."""

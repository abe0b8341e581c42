"""Campaign statistics: the email KPIs of each campaign, step and day, read in SQL."""

"""A contact's last activity, kept current where its events are recorded."""

"""Reading companies, contacts and a contact's timeline, for the API and the web UI alike."""

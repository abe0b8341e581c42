"""Mail templates: the library (built-in Japanese mails and the team's own), previews."""

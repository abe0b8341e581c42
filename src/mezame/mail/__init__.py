"""Pure mail building blocks: MIME bytes, signed links, templates, consent rules, bounce parsing."""

"""Use cases that combine the store with pure analytics; what the web app and the CLI call."""

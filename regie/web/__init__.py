"""The web face of regie: JSON API, emoncms-compatible routes and pages (FastAPI)."""

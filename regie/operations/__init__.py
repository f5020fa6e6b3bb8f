"""Running a régie for years: backups that restore (on either backend), upgrades, health and metrics."""

"""Versioned parameter files (tariffs, taxes), each with its source and validity dates. Data only."""

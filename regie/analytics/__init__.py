"""Pure computation over arrays: no I/O, no database, no clock. Units in brackets in each docstring."""

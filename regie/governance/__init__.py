"""The gate: accounts and roles, consent grants, the one function through which personal data is read,
the tamper-evident access log, statistical secrecy for aggregates and data-subject rights.

Modules: :mod:`accounts` (argon2 passwords, login throttling, sessions, CSRF), :mod:`consent` (grants as
ISO/IEC TS 27560 / W3C DPV consent records), :mod:`gate` (``read_personal``), :mod:`audit` (hash-chained
log, Ed25519 checkpoints), :mod:`secrecy` (masking of aggregate tables), :mod:`rights` (export, erase,
correct), :mod:`keys` (secrets kept in the data directory, never in the repository).
"""

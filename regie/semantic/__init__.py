"""Linked open data: every public resource of a territory as RDF, a SPARQL endpoint over it, open-data files
and their DCAT-AP catalogue, and the GeoJSON a map needs (issue 15, parts 2–5).

Everything here is built from two sources only: the inventory filtered by :mod:`regie.semantic.public` (no
household, no person, no delivery point number) and the figures of :mod:`regie.publication` (sums of
published cells, already judged by statistical secrecy). No personal series is ever read here. See
``docs/linked-data.md`` for the URI scheme and the vocabularies.
"""

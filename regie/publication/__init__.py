"""The publication: everything regie shows the public, computed once, checked by statistical secrecy,
frozen and versioned so that no two publications can be subtracted to recover one person's data.

Issue "Trust holds under attack" (secrecy over time) and "Publish once, serve everywhere" share this
package: the territory balance and its pages, the live view, the grid tables and the report read their
public figures from here. See ``docs/publication.md``.
"""

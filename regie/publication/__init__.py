"""The publication: everything regie shows the public, computed once, checked by statistical secrecy,
frozen and versioned so that no two publications can be subtracted to recover one person's data.

Issue "Trust holds under attack" (secrecy over time) and "Publish once, serve everywhere" share this
package: the territory balance and its pages and the report read their public figures from here. See
``docs/publication.md``.

The public API, small on purpose:

- :mod:`regie.publication.rule` — the secrecy rule over time, pure numpy: :func:`~rule.judge` (count and
  dominance of any aggregate), :func:`~rule.cell_reasons` (a cell from its points' contributions),
  :func:`~rule.change_reasons` (whether the difference between a published and a new value may be shown).
- :func:`regie.publication.balance.public_balance` — the territory balance as anyone may see it, every figure
  a sum of published cells; :func:`regie.publication.balance.publication` — the published cells themselves.
- :func:`regie.publication.similar_homes.publication` and :func:`~similar_homes.compare` — a member's "similar
  homes", frozen monthly cells per size class (issue 12).
"""

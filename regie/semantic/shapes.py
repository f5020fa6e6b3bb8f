"""The SHACL shapes the public graph must pass (``shapes.ttl``, shipped with the package), and a check."""

from __future__ import annotations

from pathlib import Path

from rdflib import Graph

SHAPES = Path(__file__).with_name("shapes.ttl")


def shapes() -> Graph:
    return Graph().parse(SHAPES, format="turtle")


def validate(data: Graph) -> tuple[bool, str]:
    """(whether ``data`` conforms, pyshacl's report text). pyshacl is a test-time dependency of this check."""
    from pyshacl import validate as shacl

    conforms, _, text = shacl(data, shacl_graph=shapes(), inference="none", allow_warnings=False)
    return bool(conforms), str(text)

"""Spark jobs over the Parquet lake (:mod:`regie.lake`) that compute what the embedded store computes.

Each job ships the lake's rows of one territory-month, one ACC operation or one transformer to a Python worker
as an Arrow batch (``applyInPandas``) and runs there the same numpy kernels (:mod:`regie.analytics`) and the
same services code the embedded path runs; Spark only moves, groups and sums. The figures are therefore the
embedded store's, within float summation order (``tests/cluster`` checks 1e-9 relative on the demo).
"""

"""The Parquet lake: the stored readings exported for engines that run beyond one machine (Spark, DuckDB)."""

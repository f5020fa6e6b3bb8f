"""One SparkSession, set up the way regie's jobs need it: Arrow batches to Python workers, UTC, no UI.

``master`` is Spark's own: ``local[2]`` (two cores of this machine), ``local-cluster[2,1,1024]`` (two executor
processes, for trying failures), ``spark://host:7077`` (a standalone cluster), ``yarn`` or a managed
service's. Workers run this interpreter (``PYSPARK_PYTHON``), so they have regie and numpy.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: Small shuffles: a territory-month or an operation is one group; the default 200 partitions would be empty.
SHUFFLE_PARTITIONS = 8


def spark_session(master: str = "local[2]", *, shuffle_partitions: int = SHUFFLE_PARTITIONS,
                  conf: dict[str, str] | None = None) -> SparkSession:  # fmt: skip
    """A SparkSession on ``master`` (an existing one with the same master is reused by Spark)."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(master)
        .appName("regie")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        # territory=prats-de-mollo, month=2025-01: strings, never guessed as numbers or dates
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
    )
    for k, v in (conf or {}).items():
        builder = builder.config(k, v)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session

"""pandas without pyarrow (regie/lean_pandas.py): a regie process never loads pyarrow for pandas (34 MB resident
in `regie serve`, docs/footprint.md), pandas's version flags describe the installed pyarrow, and pandas's
Parquet writer and reader give the values they give with pyarrow loaded first. Each mode runs in a fresh
interpreter: the import order is the point."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("pyarrow")

SCRIPT = textwrap.dedent(
    """
    import io, json, sys
    if sys.argv[1] == "regie-first":
        import regie.web.app  # what `regie serve` imports
        loaded_by_regie = "pyarrow" in sys.modules
    else:
        import pandas
        import regie.lean_pandas
        loaded_by_regie = None
    import numpy as np
    import pandas as pd
    from pandas import compat
    from pandas.compat import pyarrow as flags

    df = pd.DataFrame({"start": ["2025-01-01T00:00:00+01:00", "2025-01-01T00:30:00+01:00", None],
                       "value": [1.5, np.nan, 3.0], "masked": ["", "small", None], "n": [1, 2, 3],
                       "ok": [True, False, True]})
    buf = io.BytesIO()
    df.to_parquet(buf, index=False, engine="pyarrow")
    import pyarrow.parquet as pq
    back = pd.read_parquet(io.BytesIO(buf.getvalue()))
    print(json.dumps({
        "pyarrow_after_regie": loaded_by_regie,
        "has_pyarrow": flags.HAS_PYARROW,
        "flags": {k: getattr(flags, k) for k in dir(flags) if k.startswith("pa_version_under")},
        "compat": {k: getattr(compat, k) for k in dir(compat) if k.startswith("pa_version_under")},
        "dtypes": df.dtypes.astype(str).tolist(),
        "back_dtypes": back.dtypes.astype(str).tolist(),
        "back_equals": bool(back.equals(df)),
        "csv": back.to_csv(index=False),
        "arrow_values": pq.read_table(io.BytesIO(buf.getvalue())).to_pydict(),
    }, default=str))
    """
)


def _run(mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_regie_imports_pandas_without_pyarrow_and_parquet_gives_the_same_values() -> None:
    lean, full = _run("regie-first"), _run("pandas-first")
    assert lean["pyarrow_after_regie"] is False  # regie.web.app imported pandas, not pyarrow
    assert (lean["has_pyarrow"], full["has_pyarrow"]) == (False, True)
    assert (lean["flags"], lean["compat"]) == (full["flags"], full["compat"])  # the installed pyarrow's version
    assert any(not v for v in full["flags"].values())  # a pyarrow recent enough that some flags are False
    assert lean["dtypes"] == full["dtypes"] == lean["back_dtypes"] == full["back_dtypes"]
    assert lean["back_equals"] and full["back_equals"]
    assert lean["csv"] == full["csv"]
    assert lean["arrow_values"] == full["arrow_values"]

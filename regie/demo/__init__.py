"""Demo scenarios: generated territories with a year of readings, built from standard load profiles
(demandlib), PV models (pvlib) and the French holiday calendar (holidays)."""

from regie.demo.data import DemoData
from regie.demo.prats import build_prats

__all__ = ["DemoData", "build_prats"]

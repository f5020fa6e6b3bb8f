"""HTA/BT transformers of the village grid: which delivery points each feeds, its rating, its load.

The load a substation carries is the net power of what it feeds (consumption minus the rooftop PV
injected below it) plus the losses on the way: the transformer's no-load (iron) losses, its load
(copper) losses growing with the square of the load, and the low-voltage network's losses (~2.5 % of
what flows). Loss figures are of the order of the Ecodesign limits for distribution transformers
(Commission Regulation (EU) No 548/2014, Tier 2 for liquid-immersed units): illustrative, not a
manufacturer's data sheet.
"""

from __future__ import annotations

import numpy as np

# rating [kVA] → (no-load losses [W], load losses at rated power [W])
LOSSES_W = {
    100: (145, 1250),
    160: (210, 1750),
    250: (300, 2350),
    400: (430, 3250),
    630: (600, 4600),
    1000: (770, 7600),
}
LV_NETWORK_LOSS = 0.025


def choose_rating(peak_w: float, power_factor: float, loading: float = 0.9) -> int:
    """The smallest standard rating whose ``loading`` share carries the peak apparent power."""
    need_kva = peak_w / power_factor / 1000 / loading
    for kva in sorted(LOSSES_W):
        if kva >= need_kva:
            return kva
    return max(LOSSES_W)


def transformer_load(net_w: np.ndarray, rated_kva: int, power_factor: float) -> np.ndarray:
    """Active power through the transformer [W] for the net power ``net_w`` of what it feeds."""
    p0, pk = LOSSES_W[rated_kva]
    carried = net_w * (1 + LV_NETWORK_LOSS * np.sign(net_w))
    s_ratio = np.abs(carried) / power_factor / (rated_kva * 1000)
    return carried + p0 + pk * s_ratio**2

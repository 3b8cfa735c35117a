"""``mask``: the ideal ratio mask ``|V| / (|V| + |I|)`` as the target.

The seed built its "vocal" slice from the mix, so its target was a constant 1: here
the mask comes from the vocal and instrumental magnitudes. A mask is never
normalised. With a mix-packing loss the target becomes
``concat([mask x |mix|_n, |mix|_n], -1)``: the loss then compares the predicted
mask x mix with the ideal mask x mix (a mix-weighted mask error).
"""

from __future__ import annotations

import numpy as np

from unmix.dsp.masks import ratio_mask
from unmix.dsp.normalizers import ZmuvStats
from unmix.pipeline.representations.base import Representation, pack
from unmix.pipeline.representations.registry import register_representation


class IdealMaskRepresentation(Representation):
    """Shared by ``mask`` and ``mask_ibm``: target = an ideal mask from |V| and |I|."""

    output_kind = "mask"

    def ideal_mask(self, vocals: np.ndarray, instrumental: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _item(
        self, mix: np.ndarray, vocals: np.ndarray, instrumental: np.ndarray, *, packs_mix: bool, stats: ZmuvStats | None,
        reference: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        x, _ = self._normalize(mix, None, stats, reference)
        mask = np.clip(np.asarray(self.ideal_mask(vocals, instrumental), np.float32), 0.0, 1.0)
        return (x, pack(mask * x, x)) if packs_mix else (x, mask)


@register_representation("mask")
class MaskRepresentation(IdealMaskRepresentation):
    """Model input: normalised |mix|; target: the ideal ratio mask; output: a mask."""

    name = "mask"

    def ideal_mask(self, vocals: np.ndarray, instrumental: np.ndarray) -> np.ndarray:
        return ratio_mask(vocals, instrumental)

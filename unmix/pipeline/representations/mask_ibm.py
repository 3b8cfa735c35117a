"""``mask_ibm``: the ideal binary mask (1 where ``|V| >= |I|``) as the target.

As ``mask``, but binary; the seed's version built it from the mix (constant 1).
"""

from __future__ import annotations

import numpy as np

from unmix.dsp.masks import binary_mask
from unmix.pipeline.representations.mask import IdealMaskRepresentation
from unmix.pipeline.representations.registry import register_representation


@register_representation("mask_ibm")
class BinaryMaskRepresentation(IdealMaskRepresentation):
    """Model input: normalised |mix|; target: the ideal binary mask; output: a mask."""

    name = "mask_ibm"

    def ideal_mask(self, vocals: np.ndarray, instrumental: np.ndarray) -> np.ndarray:
        return binary_mask(vocals, instrumental)

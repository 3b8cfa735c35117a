"""``train_window_predict_mask``: the hourglass default. |mix| in, a mask out.

With a mix-packing loss (L11_loss, L22_loss) the target is
``concat([|vocals|_n, |mix|_n], -1)``, both normalised with the *mix* window's
factors, and the loss compares ``mask x |mix|_n`` with ``|vocals|_n`` (the seed's
scheme, minus its global model reference). With any other loss (e.g. mean squared
error) there is no mix to multiply with inside the loss, so the target is the ideal
ratio mask ``|V| / (|V| + |I|)`` in [0, 1], which is what the model's output means.
"""

from __future__ import annotations

import numpy as np

from unmix.dsp.masks import ratio_mask
from unmix.dsp.normalizers import ZmuvStats
from unmix.pipeline.representations.base import Representation, pack
from unmix.pipeline.representations.registry import register_representation


@register_representation("train_window_predict_mask")
class TrainWindowPredictMask(Representation):
    """Model input: normalised |mix|; output: a mask; target: see the module docstring."""

    name = "train_window_predict_mask"
    output_kind = "mask"

    def _item(
        self, mix: np.ndarray, vocals: np.ndarray, instrumental: np.ndarray, *, packs_mix: bool, stats: ZmuvStats | None
    ) -> tuple[np.ndarray, np.ndarray]:
        if packs_mix:
            x, vocals_n = self._normalize(mix, vocals, stats)
            return x, pack(vocals_n, x)
        x, _ = self._normalize(mix, None, stats)
        return x, np.clip(ratio_mask(vocals, instrumental), 0.0, 1.0)

"""``train_window_predict_mask``: the hourglass default. |mix| in, a mask out.

With a mix-packing loss (L11_loss, L22_loss) the target is
``concat([|vocals|_n, |mix|_n], -1)``, both normalised with the *mix* window's
factors, and the loss compares ``mask x |mix|_n`` with ``|vocals|_n`` (the seed's
scheme, minus its global model reference). With any other loss (e.g. mean squared
error) there is no mix to multiply with inside the loss, so the target is the ideal
ratio mask ``|V| / (|V| + |I|)`` in [0, 1], which is what the model's output means.

Several ``targets`` (Park et al. 2018: instrumental, vocals) stack each stem's target on the
channels in that order, before the packed mix.
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
    stacked_targets = True

    def _item(
        self, mix: np.ndarray, vocals: np.ndarray, instrumental: np.ndarray, *, packs_mix: bool, stats: ZmuvStats | None,
        reference: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        stems = {"vocals": vocals, "instrumental": instrumental}
        x, _ = self._normalize(mix, None, stats, reference)
        if packs_mix:
            return x, pack(np.concatenate([self._normalize(mix, stems[t], stats, reference)[1] for t in self.targets], axis=-1), x)
        others = {"vocals": instrumental, "instrumental": vocals}
        return x, np.concatenate([np.clip(ratio_mask(stems[t], others[t]), 0.0, 1.0) for t in self.targets], axis=-1)

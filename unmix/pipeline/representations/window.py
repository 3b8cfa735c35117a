"""``window``: |mix| window in, the vocal magnitude out (the LeakyReLU models' pairing).

The target is |vocals| normalised with the factors of the mix window, so the model
learns the vocal magnitude on the input's scale; ``to_vocals_magnitude`` undoes that
normalisation and clips the result to [0, |mix|].
"""

from __future__ import annotations

import numpy as np

from unmix.dsp.normalizers import ZmuvStats
from unmix.errors import ConfigurationError
from unmix.pipeline.representations.base import Representation
from unmix.pipeline.representations.registry import register_representation


@register_representation("window")
class WindowRepresentation(Representation):
    """Model input: normalised |mix|; target: |vocals| on the same scale; output: a magnitude."""

    name = "window"
    output_kind = "magnitude"

    def _item(
        self, mix: np.ndarray, vocals: np.ndarray, instrumental: np.ndarray, *, packs_mix: bool, stats: ZmuvStats | None,
        reference: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        if packs_mix:
            # A packing loss multiplies the output by the mix: that is a mask model.
            raise ConfigurationError(
                "transformation.name 'window' makes the model output a vocal magnitude, but the loss "
                "multiplies the output by the mix (a mask loss); use 'train_window_predict_mask' or a loss "
                "such as mean_squared_error"
            )
        return self._normalize(mix, vocals, stats, reference)

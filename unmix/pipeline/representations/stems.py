"""``stems``: |mix| window in, one magnitude per stem out (models with named outputs, such as ``spleeter``).

The targets are ``{"vocals": |V|, "instrumental": |I|}``, each normalised with the factors of the
mix window (with the ``none`` normaliser: the raw magnitudes, Spleeter's training targets), so a
model with one output per stem trains with one loss per stem. At separation each named output
goes through :meth:`to_vocals_magnitude` (the name is historical: any stem's magnitude) and the
separation kernel combines them with ratio masks.
"""

from __future__ import annotations

import numpy as np

from unmix.dsp.normalizers import ZmuvStats
from unmix.errors import ConfigurationError
from unmix.pipeline.representations.registry import register_representation
from unmix.pipeline.representations.window import WindowRepresentation

STEM_TARGETS = ("vocals", "instrumental")


@register_representation("stems")
class StemsRepresentation(WindowRepresentation):
    """Model input: normalised |mix|; targets: |vocals| and |instrumental| on the same scale; output: a magnitude per stem."""

    name = "stems"
    output_kind = "magnitude"
    targets = STEM_TARGETS

    def _item(
        self, mix: np.ndarray, vocals: np.ndarray, instrumental: np.ndarray, *, packs_mix: bool, stats: ZmuvStats | None,
        reference: np.ndarray | None,
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        if packs_mix:
            raise ConfigurationError(
                "transformation.name 'stems' makes the model output one magnitude per stem, but the loss "
                "multiplies the output by the mix (a mask loss); use a loss such as mean_absolute_error"
            )
        x, vocals_n = self._normalize(mix, vocals, stats, reference)
        _, instrumental_n = self._normalize(mix, instrumental, stats, reference)
        return x, {"vocals": vocals_n, "instrumental": instrumental_n}

"""The end-of-training exports: model.keras (native), model.h5 and model.json (the seed's).

The exported models carry architecture and weights but no training configuration
(loss, optimizer): every layer is a built-in Keras layer, so anyone can load them
with ``keras.saving.load_model(path, safe_mode=True)`` and no custom objects, not
even an ``import unmix``. Training state for ``--resume`` lives in backup/ and weights/.
"""

from __future__ import annotations

import logging

import keras

from unmix.atomic import atomic_path, atomic_write_text, is_no_space
from unmix.data.disk import discard_partial_h5, ensure_space
from unmix.runfolder import RunFolder

logger = logging.getLogger(__name__)


class _LegacyH5Notice(logging.Filter):
    """Keras warns on every ``.h5`` save that the format is legacy; model.h5 is written on purpose (the seed's)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "as an HDF5 file via" not in record.getMessage()


def save_final_model(model: keras.Model, run_folder: RunFolder, *, weights_file: str) -> None:
    """Write the final weights, model.keras, model.h5 and model.json, each atomically."""
    from unmix.callbacks.checkpoint import save_weights_atomically, weights_size

    save_weights_atomically(model, run_folder.weights / weights_file)
    export = keras.Model(model.inputs, model.outputs, name=model.name)  # shares the weights; not compiled
    for path in (run_folder.model_keras, run_folder.model_h5):
        notice = _LegacyH5Notice()
        logging.getLogger("absl").addFilter(notice)
        try:
            with atomic_path(path, discard=discard_partial_h5) as temporary:
                ensure_space(temporary, weights_size(export))
                export.save(temporary)
        except Exception as error:  # h5 export of an exotic layer must not lose the run
            if is_no_space(error):  # but a full disk stops the run: every later write would fail too
                raise
            logger.warning("could not write %s: %s", path.name, str(error).splitlines()[0] if str(error) else type(error).__name__)
        finally:
            logging.getLogger("absl").removeFilter(notice)
    atomic_write_text(run_folder.model_json, export.to_json(indent=2) + "\n")

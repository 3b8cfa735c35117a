"""The end-of-training exports: model.keras (native), model.h5 and model.json (the seed's).

The exported models carry architecture and weights but no training configuration
(loss, optimizer): every layer is a built-in Keras layer, so anyone can load them
with ``keras.saving.load_model(path, safe_mode=True)`` and no custom objects, not
even an ``import unmix``. Training state for ``--resume`` lives in backup/ and weights/.
"""

from __future__ import annotations

import logging
import os

import keras

from unmix.runfolder import RunFolder, atomic_write_text

logger = logging.getLogger(__name__)


def save_final_model(model: keras.Model, run_folder: RunFolder, *, weights_file: str) -> None:
    """Write the final weights, model.keras, model.h5 and model.json, each atomically."""
    from unmix.callbacks.checkpoint import save_weights_atomically

    save_weights_atomically(model, run_folder.weights / weights_file)
    export = keras.Model(model.inputs, model.outputs, name=model.name)  # shares the weights; not compiled
    for path in (run_folder.model_keras, run_folder.model_h5):
        temporary = path.with_name(".partial-" + path.name)
        try:
            export.save(temporary)
            os.replace(temporary, path)
        except Exception as error:  # h5 export of an exotic layer must not lose the run
            logger.warning("could not write %s: %s", path.name, error)
            temporary.unlink(missing_ok=True)
    atomic_write_text(run_folder.model_json, export.to_json(indent=2) + "\n")

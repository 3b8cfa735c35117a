"""A ``.keras`` file with a Lambda layer is refused in one complete line (issue 29, minor 17).

unmix loads model files with ``safe_mode=True``. Keras refused the Lambda layer with a paragraph
that the message cut off after 200 characters ("If you trust the "), followed by advice to copy
or download the file again, which cannot help; ``train.py --initial_weights`` blamed a mismatch
with the configuration instead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from unmix.cli import predict
from unmix.cli.common import EXIT_FAILURE
from unmix.errors import ModelError

pytestmark = pytest.mark.usefixtures("hermetic_environment")

ADVICE = (
    "holds a Lambda layer, which is Python code: unmix never loads code from a model file; give the model's weights "
    "as a .weights.h5 file, or a .keras model built from a configuration (train.py writes both)"
)


def lambda_model(path: Path, *, nested: bool = False) -> Path:
    """A whole Keras model whose one layer is ``Lambda(lambda x: x * 2)`` (inside a nested model with ``nested``)."""
    import keras

    inputs = keras.Input((4,))
    outputs = keras.layers.Lambda(lambda x: x * 2)(inputs)
    model = keras.Model(inputs, outputs)
    if nested:
        outer = keras.Input((4,))
        model = keras.Model(outer, keras.layers.Dense(4)(model(outer)))
    model.save(path)
    return path


def test_predict_refuses_a_lambda_model_in_one_complete_line(tmp_path, kit, capsys):
    weights = lambda_model(tmp_path / "lambda.keras")
    song = tmp_path / "song.wav"
    soundfile.write(song, np.zeros((800, 2), np.float32), 8000)
    configuration = kit.REPOSITORY / "configurations" / "mini" / "mask.jsonc"
    argv = ["--weights", str(weights), "--configuration", str(configuration), "--song", str(song), "--output", str(tmp_path / "out"), "--quiet"]
    assert predict.main(argv) == EXIT_FAILURE
    line = kit.one_line(capsys.readouterr().err)
    assert line == f"error: {weights} {ADVICE}"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("nested", [False, True], ids=["top level", "in a nested model"])
def test_the_check_finds_a_lambda_anywhere_in_the_model(nested, tmp_path):
    from unmix.models.registry import refuse_code_layers

    weights = lambda_model(tmp_path / "lambda.keras", nested=nested)
    with pytest.raises(ModelError, match=r"holds a Lambda layer, which is Python code: .*\(train\.py writes both\)$"):
        refuse_code_layers(weights)


def test_a_model_without_code_and_other_files_pass_the_check(tmp_path):
    import keras

    from unmix.models.registry import refuse_code_layers

    inputs = keras.Input((4,))
    keras.Model(inputs, keras.layers.Dense(2)(inputs)).save(tmp_path / "plain.keras")
    (tmp_path / "not-a-zip.keras").write_text("text")
    for name in ("plain.keras", "not-a-zip.keras", "missing.keras", "x.weights.h5"):
        refuse_code_layers(tmp_path / name)  # the loader's own message, if any, comes later

"""Loading: targets of named outputs, one traced graph, and the network's precision."""

from __future__ import annotations

import numpy as np
import pytest

from unmix.errors import ConfigurationError
from unmix.separation import loading

TINY = {"bins": 64, "filters": [2, 2, 2, 2, 2, 2]}


@pytest.fixture(scope="module")
def tiny_spleeter():
    import keras

    from unmix.models.registry import build_model

    keras.utils.set_random_seed(4)
    return build_model("spleeter", TINY, input_shape=(129, 64, 2), output="magnitude")


def test_named_outputs_are_the_targets(tiny_spleeter):
    assert loading.targets_of(tiny_spleeter) == ("vocals", "instrumental")


def test_bfloat16_is_close_to_float32_and_answers_in_float32(tiny_spleeter):
    x = np.abs(np.random.default_rng(0).standard_normal((2, 129, 64, 2))).astype(np.float32)
    full = loading.keras_predict(tiny_spleeter)(x)
    half = loading.keras_predict(loading.with_precision(tiny_spleeter, "bfloat16"))(x)
    for target in ("vocals", "instrumental"):
        assert half[target].dtype == np.float32 and half[target].shape == x.shape
        scale = float(np.abs(full[target]).max())
        assert 0 < float(np.abs(half[target] - full[target]).max()) < 0.05 * scale  # bf16 keeps ~3 digits
    assert loading.with_precision(tiny_spleeter, "float32") is tiny_spleeter


def test_auto_precision_follows_the_cpu(monkeypatch, tmp_path):
    real = loading.Path

    def cpuinfo(flags: str):
        def fake(path, *args):
            return real(tmp_path / "cpuinfo") if str(path) == "/proc/cpuinfo" else real(path, *args)

        (tmp_path / "cpuinfo").write_text(f"flags\t\t: fpu sse2 avx2 {flags}\n")
        monkeypatch.setattr(loading, "Path", fake)

    cpuinfo("avx512f avx512_bf16")
    assert loading.resolve_precision("auto") == "bfloat16"
    cpuinfo("avx512f")
    assert loading.resolve_precision("auto") == "float32"
    assert loading.resolve_precision("float32") == "float32" and loading.resolve_precision("bfloat16") == "bfloat16"
    with pytest.raises(ConfigurationError, match="must be one of float32, bfloat16, auto; received 'fp16'"):
        loading.resolve_precision("fp16")

"""The network outside TensorFlow: exported once to ONNX, run with OpenVINO.

Importing TensorFlow takes longer than separating a 3-minute song with the ``fast`` model, and a
one-song run pays it every time. A run folder's network is exported once with Keras' own
``model.export(format="onnx")`` (float32, every batch size) into the models folder, keyed by the
folder's ``RunFolder.identity()`` so that retrained weights or a changed configuration export
again; later runs read it with OpenVINO, which imports in a tenth of a second and runs the
convolutions as fast as TensorFlow's oneDNN (bfloat16 where the CPU has it, as
``transformation.precision: auto`` does with TensorFlow). TensorFlow stays for training, for
GPUs and as the fallback (``--runtime tensorflow``).

Measured, with the command that made each figure, in docs/speed.md.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from unmix.errors import ConfigurationError, ModelError, first_line
from unmix.separation import subpixel

logger = logging.getLogger(__name__)

#: ``auto``: the exported network when it exists and no GPU is visible, else TensorFlow.
RUNTIMES = ("auto", "tensorflow", "openvino")
_SUFFIX = ".onnx"


def check_runtime(runtime: str) -> str:
    """``runtime`` itself, or ``ConfigurationError`` naming the choices."""
    if runtime not in RUNTIMES:
        raise ConfigurationError(f"--runtime must be one of {', '.join(RUNTIMES)}; received {runtime!r}")
    return runtime


def available() -> bool:
    """Whether OpenVINO can be imported (it is a dependency; a trimmed install may lack it)."""
    import importlib.util

    return importlib.util.find_spec("openvino") is not None


def gpu_visible() -> bool:
    """An NVIDIA device TensorFlow would use, found without importing TensorFlow: then TensorFlow runs the network."""
    hidden = os.environ.get("CUDA_VISIBLE_DEVICES")
    if hidden is not None and hidden.strip() in ("", "-1"):
        return False
    return Path("/dev/nvidiactl").exists() or Path("/dev/nvidia0").exists()


def cpu_precision(precision: str) -> str:
    """``"f32"`` or ``"bf16"``: ``transformation.precision`` on this CPU (``auto`` is bf16 where the CPU has it natively).

    Raises:
        ConfigurationError: an unknown precision.
    """
    from unmix.separation.loading import check_precision, native_bf16

    if check_precision(precision) == "auto":
        return "bf16" if native_bf16() else "f32"
    return "bf16" if precision == "bfloat16" else "f32"


def exported_path(run_folder: str | Path, weights: Path | None = None) -> Path:
    """Where a run folder's network with its best weights (or ``weights``) is exported: ``<models folder>/exported/<identity>.onnx``.

    The models folder is ``unmix.pretrained.catalog.models_dir()`` (``$UNMIX_MODELS_DIR``, else
    the user's cache). Raises ``ModelError`` for a run without weights.
    """
    from unmix.pretrained.catalog import models_dir
    from unmix.runfolder import RunFolder

    identity = RunFolder.open(run_folder).identity(weights)
    return models_dir() / "exported" / f"{identity[:32]}{_SUFFIX}"


def export(model: Any, path: Path) -> Path:
    """Export a float32 Keras model to ONNX at ``path`` (atomically: a killed export leaves no file under that name).

    Raises:
        ModelError: the export failed (the message names the model and the cause).
    """
    from unmix.atomic import atomic_path

    path = Path(path)
    model(np.zeros((1, *model.input_shape[1:]), dtype=np.float32))  # Keras exports only a model that has run
    with atomic_path(path) as temporary, warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # Keras' tf2onnx shim probes np.object
        try:
            model.export(str(temporary), format="onnx", verbose=False)
        except (ImportError, ValueError, TypeError, RuntimeError) as error:
            raise ModelError(f"cannot export model {model.name} to ONNX: {first_line(error)}; separate with --runtime tensorflow") from None
    return path


class ExportedNetwork:
    """An exported network compiled for the CPU: a :data:`unmix.separation.kernel.Predict`.

    Each thread gets its own inference request (the separator runs blocks on two threads).

    Args:
        path: the ``.onnx`` file.
        precision: ``"f32"`` or ``"bf16"`` (see :func:`cpu_precision`).
        threads: CPU threads in all (None: OpenVINO's choice, every core).
        streams: calls that run at once (the separator's block workers): 1 gives each call
            every thread; more split the threads between them.

    Raises:
        ModelError: OpenVINO is missing, or the file cannot be read.
    """

    def __init__(self, path: Path, *, precision: str = "f32", threads: int | None = None, streams: int = 1) -> None:
        try:
            import openvino
        except ImportError:
            raise ModelError("OpenVINO is not installed: pip install openvino, or separate with --runtime tensorflow") from None
        properties: dict[str, Any] = {"INFERENCE_PRECISION_HINT": precision}
        if streams > 1:
            properties.update({"PERFORMANCE_HINT": "THROUGHPUT", "NUM_STREAMS": int(streams)})
        else:
            properties["PERFORMANCE_HINT"] = "LATENCY"
        if threads:
            properties["INFERENCE_NUM_THREADS"] = int(threads)
        try:
            core = openvino.Core()
            model = core.read_model(str(path))
            self._one_by_one = _batch_of_one(model)
            subpixel.rewrite(model)
            self._compiled = core.compile_model(model, "CPU", properties)
        except RuntimeError as error:
            raise ModelError(f"cannot read the exported network {path}: {first_line(error)}; delete it, then export it again with --runtime openvino (or python3 -m unmix.pretrained export for a built-in model), or separate with --runtime tensorflow") from None
        self.path = Path(path)
        self.precision = precision
        self.streams = max(1, int(streams))
        names = [output.get_any_name() for output in self._compiled.outputs]
        #: A Keras model's named outputs (``{"vocals": …, "instrumental": …}``) keep their names,
        #: vocals first; a single output is unnamed (Keras exports it as ``Identity``), as
        #: ``unmix.separation.loading.targets_of`` reads it: None, the representation's targets.
        self.targets: tuple[str, ...] | None = tuple(sorted(names, key=lambda name: name != "vocals")) if len(names) > 1 else None
        self._local = threading.local()

    def __call__(self, x: np.ndarray) -> np.ndarray | dict[str, np.ndarray]:
        requests = getattr(self._local, "requests", None)
        if requests is None:
            # One request per stream: a batch's windows run on every stream at once, so a song of
            # one block (or a last block alone) still uses every core.
            n = self.streams if self._one_by_one else 1
            requests = self._local.requests = [self._compiled.create_infer_request() for _ in range(n)]
        x = np.ascontiguousarray(x, dtype=np.float32)
        items = [x[i : i + 1] for i in range(len(x))] if self._one_by_one else [x]
        arrays: dict[str, list[np.ndarray]] = {}
        for first in range(0, len(items), len(requests)):
            running = list(zip(requests, items[first : first + len(requests)]))
            for request, item in running:
                request.start_async({0: item})
            for request, _ in running:
                request.wait()
                # The request reuses its output buffers: copy before its next call.
                for output in self._compiled.outputs:
                    value = request.get_tensor(output).data
                    arrays.setdefault(output.get_any_name(), []).append(np.array(value, dtype=np.float32, copy=True))
        joined = {name: parts[0] if len(parts) == 1 else np.concatenate(parts) for name, parts in arrays.items()}
        return joined if self.targets is not None else next(iter(joined.values()))


def _batch_of_one(model: Any) -> bool:
    """Fix a dynamic batch axis to 1 (every other axis already fixed): then ``__call__`` runs a batch item by item.

    OpenVINO plans a fixed shape ahead. Measured in bf16 on this repository's 2-core CPU (the
    networks alone, three alternating runs each): spleeter-2stems' U-Nets ran at 80-86x real time
    one window at a time against 71-76x in batches of two through the dynamic axis, and fast's,
    two streams at once, at 350-376x against 296-302x (docs/speed.md).
    """
    shape = model.inputs[0].get_partial_shape()
    if len(model.inputs) != 1 or not shape.rank.is_static or not shape[0].is_dynamic or any(d.is_dynamic for d in list(shape)[1:]):
        return False
    model.reshape({model.inputs[0].get_any_name(): [1, *(d.get_length() for d in list(shape)[1:])]})
    return True

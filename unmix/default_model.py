"""Where the built-in default model lives (a run folder shipped inside the package)."""

from __future__ import annotations

from pathlib import Path

from unmix.errors import ModelError

DEFAULT_MODEL = Path(__file__).resolve().parent / "pretrained" / "default"


def default_model_folder() -> Path:
    """The shipped default model's run folder.

    Raises:
        ModelError: this installation has no default model.
    """
    if not (DEFAULT_MODEL / "configuration.jsonc").is_file():
        raise ModelError(f"no built-in default model in {DEFAULT_MODEL}: pass --run_folder RUN or --weights W --configuration C")
    return DEFAULT_MODEL

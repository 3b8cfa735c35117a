"""Model architectures, one per module, registered by name in ``unmix.models.registry``.

Importing this package imports every model module so the registry is complete.
"""

from unmix.models.registry import (
    available_models,
    build_model,
    check_targets,
    options_class,
    options_from_mapping,
    prediction_model,
    register_model,
)

# Imported for their @register_model side effect (registration is the only import-time work).
from unmix.models import dummy, hourglass, largeleakyrelu, leakyrelu, mask, rnn, spleeter, unet  # noqa: E402,F401

__all__ = [
    "available_models",
    "build_model",
    "check_targets",
    "options_class",
    "options_from_mapping",
    "prediction_model",
    "register_model",
]

"""The one error hierarchy of unmix.

Library code raises these; only ``unmix.cli`` turns them into exit codes
(``ConfigurationError`` -> 2, any other ``UnmixError`` -> 1). A message is one
line that says where (file, key path or song id), what was received, what was
expected and how to fix it.
"""


class UnmixError(Exception):
    """Base class of every error unmix raises on purpose."""


class ConfigurationError(UnmixError):
    """A configuration file, key, value or command-line usage is wrong."""


class AudioError(UnmixError):
    """An audio file cannot be read or written, or a decoder is missing."""


class DataError(UnmixError):
    """A collection, song or cache is unusable."""


class ModelError(UnmixError):
    """A model cannot be built, loaded or saved."""


class TrainingError(UnmixError):
    """Training could not go on (e.g. the loss became NaN); what was written is kept."""

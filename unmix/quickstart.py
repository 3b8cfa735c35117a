"""The README's first command: check the default configuration and print it merged.

Once the built-in default model ships, this separates an example song with it.
"""

from __future__ import annotations

import sys

from unmix.cli.train import main as train_main
from unmix.config import PROJECT_ROOT


def main(argv: list[str] | None = None) -> int:
    return train_main(["--check", "--configuration", str(PROJECT_ROOT / "configurations" / "default-hourglass.jsonc"), *(argv or [])])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

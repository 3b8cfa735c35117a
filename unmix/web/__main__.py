"""``python3 -m unmix.web``: the same as ``unmix-serve``."""

import sys

from unmix.web.serve import main

if __name__ == "__main__":
    sys.exit(main())

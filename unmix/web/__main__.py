"""``python3 -m unmix.web``: the same as ``unmix-serve``."""

import os
import sys

from unmix.web.serve import main

if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main())

"""``python3 -m unmix.catalog``: see ``unmix.catalog.command``."""

import sys

from unmix.catalog.command import main

sys.exit(main())

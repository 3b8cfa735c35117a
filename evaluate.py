#!/usr/bin/env python3
"""Score a trained run or an oracle: see `python3 evaluate.py --help`."""
import os
import sys

if __name__ == "__main__":  # preparation workers are spawned: they re-import this file
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from unmix.cli.evaluate import main

    sys.exit(main())

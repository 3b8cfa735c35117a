#!/usr/bin/env python3
"""Separate songs into vocals and instrumental: see `python3 predict.py --help`."""
import os
import sys

# The guard matters: data preparation spawns worker processes that re-import this file.
if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from unmix.cli.predict import main

    sys.exit(main())

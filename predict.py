#!/usr/bin/env python3
"""Separate songs into vocals and instrumental: see `python3 predict.py --help`."""
import sys

# The guard matters: data preparation spawns worker processes that re-import this file.
if __name__ == "__main__":
    from unmix.cli.predict import main

    sys.exit(main())

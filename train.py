#!/usr/bin/env python3
"""Train a separation model: see `python3 train.py --help`."""
import sys

# The guard matters: data preparation spawns worker processes that re-import this file.
if __name__ == "__main__":
    from unmix.cli.train import main

    sys.exit(main())

#!/usr/bin/env python3
"""Score a trained run or an oracle: see `python3 evaluate.py --help`."""
import sys

if __name__ == "__main__":  # preparation workers are spawned: they re-import this file
    from unmix.cli.evaluate import main

    sys.exit(main())

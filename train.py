#!/usr/bin/env python3
"""Train a separation model: see `python3 train.py --help`."""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from unmix.cli.train import main  # noqa: E402

sys.exit(main())

#!/usr/bin/env python3
"""Separate songs into vocals and instrumental: see `python3 predict.py --help`."""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from unmix.cli.predict import main  # noqa: E402

sys.exit(main())

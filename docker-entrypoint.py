#!/usr/bin/env python3
"""Docker entry point: `docker run unmix/unmix predict.py …` or `… train.py …`."""
import sys

COMMANDS = {"predict.py": "unmix.cli.predict", "train.py": "unmix.cli.train", "evaluate.py": "unmix.cli.evaluate"}

if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
    sys.stderr.write(f"usage: docker run unmix/unmix {{{'|'.join(COMMANDS)}}} [options]\n")
    sys.exit(2)
module = __import__(COMMANDS[sys.argv[1]], fromlist=["main"])
sys.exit(module.main(sys.argv[2:]))

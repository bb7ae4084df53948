"""python3 -m hypervisor_client: the command line (cli.py)."""

import sys

from .cli import main

sys.exit(main())

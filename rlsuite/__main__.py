"""``python -m rlsuite``: the ``rlsuite`` command."""

import sys

from rlsuite.tools.cli import main

sys.exit(main())

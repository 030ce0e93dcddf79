"""``python -m symsindy``: the same command as ``symsindy``."""

import sys

from .cli import main

sys.exit(main())

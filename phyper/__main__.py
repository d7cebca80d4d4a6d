"""``python -m phyper``: the same as the ``phyper`` command."""

import sys

from .cli import main

sys.exit(main())

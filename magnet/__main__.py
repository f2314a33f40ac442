"""``python -m magnet``: the same as the ``magnet`` command."""

import sys

from magnet.cli.main import main

sys.exit(main())

"""``python -m magnet.evaluation CARD.yaml [...]``: see :mod:`magnet.evaluation.cli`."""

import sys

from magnet.evaluation.cli import main

if __name__ == "__main__":
    sys.exit(main())

"""``python -m skfin backtest ...``: the same as the ``skfin`` command."""

import sys

from skfin.cli import main

if __name__ == "__main__":
    sys.exit(main())

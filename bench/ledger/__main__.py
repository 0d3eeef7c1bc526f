"""``python -m bench.ledger``: see ``bench/README.md``."""

import sys

from bench.ledger.run import main

if __name__ == "__main__":
    sys.exit(main())

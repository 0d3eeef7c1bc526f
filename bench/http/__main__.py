"""``python -m bench.http``: see ``bench/README.md``."""

import sys

from bench.http.run import main

if __name__ == "__main__":
    sys.exit(main())

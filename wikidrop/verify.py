"""``python -m wikidrop.verify TARGET``: the partner-side check of a drop (``wikidrop.delivery.verify``),
under the short name partners are given (the same as ``wikidrop verify``)."""

from __future__ import annotations

import sys

from wikidrop.delivery.verify import main

if __name__ == "__main__":
    sys.exit(main())

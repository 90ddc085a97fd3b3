"""Entry point of the bounded child process (see core.bounded): ``python -I core/child.py``."""

import sys
from pathlib import Path

if __name__ == "__main__":  # pragma: no cover - runs in the child
    # -I leaves the project off sys.path; the job's target module lives in it.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from core.bounded import child_main

    sys.exit(child_main())

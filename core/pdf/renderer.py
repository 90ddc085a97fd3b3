"""Entry point of a PDF renderer process (see core.pdf.pool): ``python -I core/pdf/renderer.py``."""

import sys
from pathlib import Path

if __name__ == "__main__":  # pragma: no cover - runs in the renderer
    # -I leaves the project off sys.path; the worker lives in it. Imported only after that.
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from core.pdf.worker import renderer_main

    sys.exit(renderer_main())

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _slide_cache(settings: Any, tmp_path: Any) -> None:
    # Each test's local slide copies in its own folder (the tile cache is the test's media).
    settings.SLIDES_CACHE_DIR = str(tmp_path / "slides-cache")

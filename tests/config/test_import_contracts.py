"""The import contracts (pyproject.toml, checked by ``lint-imports``) ignore no import: the
layers point down with no exception listed, so a back-pointing import cannot be waved
through by adding it to a list."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_import_contract_lists_an_exception() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contracts = config["contracts"]
    assert {c["name"] for c in contracts} >= {"layers point down", "core knows nothing of the apps"}
    assert [c["name"] for c in contracts if c.get("ignore_imports")] == []

from pathlib import Path

import pytest

from models_registry.datasets import DatasetError, profile_dataset

# The public datasets ship in the checkout (datasets/): tests read nothing outside it.
SHARED = Path(__file__).resolve().parents[3] / "datasets"


@pytest.fixture
def upload(tmp_path):
    """Writes bytes (or text as UTF-8) under ``name`` and returns the path, like an upload would."""
    def _upload(name: str, content: bytes | str) -> Path:
        path = tmp_path / name.replace("/", "_")
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return path
    return _upload


def refused(path: Path, name: str | None = None, **kwargs) -> DatasetError:
    """Profiles and returns the DatasetError the file must cause."""
    with pytest.raises(DatasetError) as info:
        profile_dataset(path, name or path.name, **kwargs)
    err = info.value
    assert err.message and err.message.endswith((".", "?")), err.message
    return err

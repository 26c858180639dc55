"""Shared fixtures: a clean environment, and the Runflow stand-in."""

import pytest

pytest_plugins = ['napari_outpaint.testing.pytest_plugin']


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch, tmp_path):
    """Never use a developer's real key, endpoint, keyring or cache."""
    for name in (
        'RUNFLOW_API_KEY',
        'RUNFLOW_BASE_URL',
        'SSL_CERT_FILE',
        'NAPARI_OUTPAINT_SPEND_CAP_USD',
        'NAPARI_OUTPAINT_CONCURRENCY',
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('NAPARI_OUTPAINT_CACHE_DIR', str(tmp_path / 'cache'))
    monkeypatch.setenv(
        'PYTHON_KEYRING_BACKEND', 'keyring.backends.null.Keyring'
    )

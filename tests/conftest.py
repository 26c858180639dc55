"""Shared fixtures: a clean environment, a fresh spend cap, the stand-in."""

import os
import subprocess

import pytest

from napari_outpaint._cache import cost as _cost

pytest_plugins = ['napari_outpaint.testing.pytest_plugin']


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch, tmp_path):
    """Never use a developer's real key, endpoint, keyring, cache or
    settings file (each test has its own, in tmp_path, absent at first)."""
    for name in (
        'RUNFLOW_API_KEY',
        'RUNFLOW_BASE_URL',
        'SSL_CERT_FILE',
        'NAPARI_OUTPAINT_SPEND_CAP_USD',
        'NAPARI_OUTPAINT_CONCURRENCY',
        'NAPARI_OUTPAINT_BATCH_ROUTE',
        'NAPARI_OUTPAINT_CACHE_MAX_BYTES',
        'NAPARI_OUTPAINT_MAX_PASSES',
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('NAPARI_OUTPAINT_CACHE_DIR', str(tmp_path / 'cache'))
    monkeypatch.setenv(
        'NAPARI_OUTPAINT_CONFIG', str(tmp_path / 'config' / 'settings.toml')
    )
    monkeypatch.setenv(
        'PYTHON_KEYRING_BACKEND', 'keyring.backends.null.Keyring'
    )


@pytest.fixture
def fresh_session_cap(monkeypatch):
    """A new session spend cap for this test; the previous one comes back."""
    monkeypatch.delenv(_cost.SPEND_CAP_ENV, raising=False)
    monkeypatch.setattr(_cost, '_SESSION_CAP', None)
    return monkeypatch


@pytest.fixture
def read_only_dir(tmp_path):
    """A real read-only folder: a read-only tmpfs mount when root (whom
    permission bits do not stop), else a folder of mode 0o555."""
    folder = tmp_path / 'read-only'
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    mounted = subprocess.run(
        ['mount', '-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(
            f'root cannot mount a read-only tmpfs here: {mounted.stderr}'
        )
    try:
        yield folder
    finally:
        subprocess.run(['umount', str(folder)], check=False)

"""The installed version of napari-outpaint, looked up once."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version('napari-outpaint')
except PackageNotFoundError:  # pragma: no cover - not installed
    __version__ = 'unknown'

__all__ = ['__version__']

"""The contract of a temporary HTTPS image host."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

__all__ = ['HostedImage', 'ImageHost']


@dataclass(frozen=True)
class HostedImage:
    """An image published at a temporary HTTPS URL.

    Attributes
    ----------
    url : str
        The ``https://`` URL to pass as ``image_url``. It may carry
        credentials in its query string: never log it unredacted.
    asset_id : str or None
        The host's id for the published object, when it has one.
    expires_at : datetime or None
        When the URL stops working at the latest, when known.
    """

    url: str
    asset_id: str | None = None
    expires_at: datetime | None = None


@runtime_checkable
class ImageHost(Protocol):
    """Publishes bytes at an HTTPS URL for the duration of a ``with`` block.

    Leaving the block revokes the URL, whatever happened inside it
    (success, error, cancel, ``KeyboardInterrupt``).
    """

    name: str

    def publish(
        self,
        data: bytes,
        content_type: str,
        *,
        filename: str = 'input.png',
    ) -> AbstractContextManager[HostedImage]:
        """Publish *data*; the context manager yields the hosted image."""
        ...

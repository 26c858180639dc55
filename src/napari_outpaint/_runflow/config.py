"""Where the Runflow client connects and what it trusts.

Pure configuration, resolved before any I/O: the base URL (argument,
``RUNFLOW_BASE_URL``, default), the API key (argument, environment,
keyring) and the TLS trust (verification always on).
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from urllib.parse import urlsplit

from napari_outpaint._errors import ConfigurationError
from napari_outpaint._runflow.credentials import ENV_VAR, find_api_key
from napari_outpaint._secrets import redact_url

__all__ = [
    'BASE_URL_ENV_VAR',
    'DEFAULT_BASE_URL',
    'VerifyTypes',
    'resolve_api_key',
    'resolve_base_url',
    'ssl_verify',
]

DEFAULT_BASE_URL = 'https://api.runflow.io'
BASE_URL_ENV_VAR = 'RUNFLOW_BASE_URL'

VerifyTypes = ssl.SSLContext | str | os.PathLike | bool | None


def resolve_base_url(base_url: str | None = None) -> str:
    """The API base URL: argument, ``RUNFLOW_BASE_URL``, then the default.

    Raises
    ------
    ConfigurationError
        When the URL is not ``https://host[...]``, or ends in ``/v1``
        (the client adds ``/v1/...`` itself: that URL would make every
        request a 404).
    """
    url = base_url or os.environ.get(BASE_URL_ENV_VAR) or DEFAULT_BASE_URL
    url = url.strip().rstrip('/')
    parts = urlsplit(url)
    if parts.scheme != 'https' or not parts.hostname:
        raise ConfigurationError(
            f'The Runflow base URL must be https://..., got '
            f'{redact_url(url)!r}; the API key is never sent over plain '
            f'HTTP. Fix base_url= or {BASE_URL_ENV_VAR}.'
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(
            'The Runflow base URL must not have a query string or fragment; '
            f'fix base_url= or {BASE_URL_ENV_VAR}.'
        )
    if parts.path.rstrip('/').lower().endswith('/v1'):
        root = url[: -len('/v1')]
        raise ConfigurationError(
            f'The Runflow base URL {redact_url(url)!r} ends in /v1, but the '
            f'client adds /v1/... itself: use {redact_url(root)!r} in '
            f'base_url= or {BASE_URL_ENV_VAR}.'
        )
    return url


def resolve_api_key(api_key: str | None = None) -> str:
    """The API key: argument, ``RUNFLOW_API_KEY``, then the keyring.

    Raises
    ------
    ConfigurationError
        Naming ``RUNFLOW_API_KEY`` when no key is found.
    """
    key = find_api_key(api_key)
    if not key:
        raise ConfigurationError(
            f'No Runflow API key: set the {ENV_VAR} environment variable, '
            'pass api_key=, or save one in the widget (create a key at '
            'app.runflow.io > Settings > API Keys). The local engine needs '
            'no key.'
        )
    return key


def ssl_verify(verify: VerifyTypes) -> ssl.SSLContext | bool:
    """Turn ``verify=`` into what httpx takes; verification stays on.

    None means httpx's default trust (certifi, or ``SSL_CERT_FILE`` /
    ``SSL_CERT_DIR`` when set); a path is a CA bundle file or directory.
    """
    if verify is None or verify is True:
        return True
    if verify is False:
        raise ConfigurationError(
            'verify=False is not supported: TLS is always verified. Pass '
            'the path of a CA bundle (or set SSL_CERT_FILE) to trust a '
            'private certificate authority.'
        )
    if isinstance(verify, ssl.SSLContext):
        return verify
    path = Path(verify)
    if path.is_dir():
        return ssl.create_default_context(capath=str(path))
    if not path.is_file():
        raise ConfigurationError(
            f'verify={str(path)!r} is neither a CA bundle file nor a '
            'directory; pass an existing PEM file.'
        )
    return ssl.create_default_context(cafile=str(path))

"""A throw-away certificate authority and server certificate (trustme)."""

from __future__ import annotations

import os
import ssl

__all__ = ['make_server_certificate']


def make_server_certificate(directory: str) -> tuple[ssl.SSLContext, str]:
    """Issue a certificate for 127.0.0.1 and localhost.

    Parameters
    ----------
    directory : str
        Where to write the CA certificate (PEM).

    Returns
    -------
    tuple of (ssl.SSLContext, str)
        A server-side TLS context, and the path of the CA's PEM file.
    """
    try:  # trustme is a testing extra: say how to install it when missing
        import trustme
    except ImportError as exc:  # pragma: no cover - depends on the env
        raise ImportError(
            'The Runflow stand-in needs trustme for its certificates: '
            "pip install 'napari-outpaint[testing]'"
        ) from exc
    authority = trustme.CA()
    certificate = authority.issue_cert('127.0.0.1', 'localhost')
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    certificate.configure_cert(context)
    ca_path = os.path.join(directory, 'runflow-standin-ca.pem')
    authority.cert_pem.write_to_path(ca_path)
    return context, ca_path

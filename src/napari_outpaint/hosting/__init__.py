"""Temporary HTTPS hosting of the input image, behind one protocol."""

from napari_outpaint.hosting._base import HostedImage, ImageHost
from napari_outpaint.hosting.local_https import LocalHTTPSHost
from napari_outpaint.hosting.runflow_assets import RunflowAssetHost

__all__ = ['HostedImage', 'ImageHost', 'LocalHTTPSHost', 'RunflowAssetHost']

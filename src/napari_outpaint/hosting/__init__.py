"""Temporary HTTPS hosting of the input image, behind one protocol."""

from napari_outpaint.hosting._base import HostedImage, ImageHost

__all__ = ['HostedImage', 'ImageHost']

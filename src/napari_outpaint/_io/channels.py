"""Which axis of an image file holds its channels.

tifffile names the axes of a TIFF series from its metadata: OME-XML's
``DimensionOrder`` (and ``SizeC``), ImageJ's ``channels`` (hyperstacks),
or the shaped ``axes`` tifffile writes; the channel axis is the one
named ``C``. RGB samples (``S``) are colour, not channels.
"""

from __future__ import annotations

from napari_outpaint._io.files import ImageFile

__all__ = ['CHANNEL_LETTER', 'channel_axis_of']

#: The axis letter of channels (tifffile, OME, ImageJ).
CHANNEL_LETTER = 'C'


def channel_axis_of(image: ImageFile) -> int | None:
    """The axis of *image* (of ``image.data``) that holds channels.

    None when the file names no ``C`` axis among the plane-selecting
    axes (the two last layer axes are rows and columns), when it holds a
    single channel, or when the image is RGB.
    """
    if image.rgb or CHANNEL_LETTER not in image.axes[: image.plane_axes]:
        return None
    axis = image.axes.index(CHANNEL_LETTER)
    return axis if image.data.shape[axis] > 1 else None

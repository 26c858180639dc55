"""Which layers are the widget's results and masks: by metadata only."""

from __future__ import annotations

import numpy as np
from napari.layers import Image, Labels

from napari_outpaint._layers import (
    is_paired_mask,
    is_result,
    mask_of,
    paired_mask,
    previous_result,
    tag_result,
)


def _result(name: str) -> Image:
    mask = np.zeros((4, 6), bool)
    mask[:, :2] = True
    return Image(
        np.zeros((4, 6), np.uint8),
        name=name,
        scale=(2.0, 3.0),
        metadata={'outpaint': {'engine': 'local'}, 'outpaint_mask': mask},
    )


def test_previous_result_is_the_topmost_tagged_one_of_that_source():
    """Renamed results count; untagged look-alikes and other sources not."""
    source, other = Image(np.zeros((4, 4))), Image(np.zeros((4, 4)))
    older, newer, elsewhere = _result('a'), _result('b'), _result('c')
    for layer in (older, newer):
        tag_result(layer, source)
    tag_result(elsewhere, other)
    newer.name = 'renamed'
    lookalike = _result('cells [outpainted]')  # a user's copy, untagged
    user_image = Image(np.zeros((4, 6)), name='cells [outpainted] [1]')
    layers = [source, older, newer, elsewhere, lookalike, user_image]
    assert previous_result(layers, source) is newer
    assert previous_result(layers, other) is elsewhere
    assert previous_result([source, lookalike, user_image], source) is None
    assert is_result(lookalike)
    assert not is_result(user_image)
    assert not is_result(Labels(np.zeros((4, 6), np.uint8)))


def test_paired_mask_names_and_links_its_result_as_a_contour():
    """The mask is '<result> [generated]', a contour, aligned, linked by
    id (a renamed result keeps its mask; another result has none)."""
    result, unrelated = _result('cells [outpainted] [2]'), _result('x')
    mask = paired_mask(result)
    assert mask.name == 'cells [outpainted] [2] [generated]'
    assert mask.metadata['outpaint_mask_of'] == result.name
    assert mask.contour == 1
    assert tuple(mask.scale) == (2.0, 3.0)
    np.testing.assert_array_equal(mask.data, result.metadata['outpaint_mask'])
    result.name = 'renamed'
    user_labels = Labels(np.zeros((4, 6), np.uint8), name=mask.name)
    layers = [result, user_labels, mask, unrelated]
    assert mask_of(layers, result) is mask
    assert mask_of(layers, unrelated) is None
    assert is_paired_mask(mask)
    assert not is_paired_mask(user_labels)

"""A plan covers the wish with Runflow passes, however Runflow rounds."""

import math
import random

import pytest

from napari_outpaint import Expand, InvalidInputError
from napari_outpaint._canvas import Canvas, plan_canvas
from napari_outpaint._expand import MAX_PERCENT, Padding


def test_an_expand_is_one_pass_with_nothing_to_crop():
    plan = plan_canvas(Expand(top=20, left=5), 100, 200)
    (only,) = plan.passes
    assert only.expand == Expand(top=20, left=5)
    assert plan.target == Padding(20, 0, 10, 0)
    assert plan.crop == Padding(0, 0, 0, 0)


def test_an_exact_shape_in_one_pass_picks_the_smallest_percents():
    """+10 px on 100 rows needs 10 %; +3 px on 7 columns needs 43 %
    (42 % would floor to 2 px)."""
    plan = plan_canvas(Canvas.pixels(top=10, right=3), 100, 7)
    (only,) = plan.passes
    assert only.expand == Expand(top=10, right=43)
    assert plan.shape == (110, 10)
    assert plan.offset == (10, 0)
    assert plan.crop == Padding(0, 0, 0, 0)


def test_beyond_80_percent_passes_chain_on_the_growing_canvas():
    plan = plan_canvas(Canvas.shape(2048, 2048), 600, 800)
    assert [p.expand for p in plan.passes] == [
        Expand(80, 80, 78, 78),
        Expand(16, 16, 0, 0),
    ]
    assert (plan.passes[1].height, plan.passes[1].width) == (1560, 2048)
    assert plan.shape == (2048, 2048)
    assert plan.crop == Padding(6, 6, 0, 0)


def test_too_many_passes_name_the_largest_canvas_reachable():
    with pytest.raises(InvalidInputError, match=r'100 x 1049 px') as caught:
        plan_canvas(Canvas.pixels(left=100_000), 100, 100)
    assert caught.value.field == 'canvas'
    plan = plan_canvas(Canvas.pixels(left=949), 100, 100)  # just reachable
    assert len(plan.passes) == 4
    with pytest.raises(InvalidInputError, match='max_passes'):
        plan_canvas(Canvas.pixels(left=949), 100, 100, max_passes=3)


@pytest.mark.parametrize('max_passes', [0, 1.5, True])
def test_max_passes_is_a_count(max_passes):
    with pytest.raises(InvalidInputError, match='max_passes'):
        plan_canvas(Canvas.pixels(left=1), 10, 10, max_passes=max_passes)


def test_anything_else_is_refused_naming_the_field():
    with pytest.raises(InvalidInputError, match='Canvas or an Expand'):
        plan_canvas({'top': 10}, 10, 10)


@pytest.mark.parametrize('seed', range(4))
def test_every_plan_covers_its_wish_under_any_rounding(seed):
    """Random planes and wishes: each pass is valid for Runflow (0-80 %,
    one side above 0), floor-rounded pixels already cover the wish, the
    padding actually added is never less, and the crop leaves exactly
    the wished canvas."""
    rng = random.Random(seed)
    for _ in range(300):
        height, width = rng.randint(3, 3000), rng.randint(3, 3000)
        sides = [rng.choice([0, rng.randint(1, 4 * max(height, width))])]
        sides += [rng.choice([0, rng.randint(1, 3000)]) for _ in range(3)]
        if not any(sides):
            continue
        try:
            plan = plan_canvas(Canvas.pixels(*sides), height, width)
        except InvalidInputError as exc:
            assert 'passes' in str(exc)  # noqa: PT017 (only too many passes)
            continue
        floors = [0, 0, 0, 0]
        for step in plan.passes:
            percents = step.expand.as_dict().values()
            assert all(0 <= p <= MAX_PERCENT for p in percents)
            lengths = (step.height, step.height, step.width, step.width)
            for i, (n, p) in enumerate(zip(lengths, percents, strict=True)):
                floors[i] += math.floor(n * p / 100)
        assert all(f >= t for f, t in zip(floors, sides, strict=True))
        lengths = (height, height, width, width)
        if all(
            t <= n * MAX_PERCENT // 100
            for t, n in zip(sides, lengths, strict=True)
        ):  # one pass reaches: one pass, each percent the smallest
            (step,) = plan.passes
            for t, n, p in zip(
                sides, lengths, step.expand.as_dict().values(), strict=True
            ):
                assert p == 0 or n * (p - 1) // 100 < t
        assert all(c >= 0 for c in plan.crop)
        assert plan.target == Padding(*sides)
        assert plan.shape == (
            height + sides[0] + sides[1],
            width + sides[2] + sides[3],
        )

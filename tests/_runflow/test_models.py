"""The run object is read defensively from every known shape."""

import pytest

from napari_outpaint._runflow.models import AssetUpload, Run


def test_documented_success_shape():
    """status_code, outputs[0].url, seed, nsfw flag and cost are read."""
    run = Run.from_json(
        {
            'id': 'r1',
            'status_code': 'succeeded',
            'cost': '0.55',
            'client_ref': 'ref',
            'output': {
                'outputs': [{'url': 'https://x/o.webp', 'type': 'image'}],
                'seed': 42,
                'nsfw_detected': False,
            },
        }
    )
    assert run.is_terminal
    assert run.succeeded
    assert run.output_url == 'https://x/o.webp'
    assert run.seed == 42
    assert run.nsfw_detected is False
    assert run.cost_usd(0.55) == 0.55
    assert run.client_ref == 'ref'


@pytest.mark.parametrize(
    'output',
    [
        {'image_urls': ['https://x/a.png']},
        {'images': [{'url': 'https://x/a.png'}]},
        {'image': {'url': 'https://x/a.png'}},
        {'url': 'https://x/a.png'},
        {'output_url': 'https://x/a.png'},
        {'outputs': [], 'image_urls': ['https://x/a.png']},
    ],
)
def test_output_url_fallbacks(output):
    """Every fallback shape of the output yields the URL."""
    run = Run.from_json({'id': 'r', 'status': 'SUCCEEDED', 'output': output})
    assert run.output_url == 'https://x/a.png'
    assert run.status == 'succeeded'


@pytest.mark.parametrize(
    ('status', 'terminal'),
    [
        ('queued', False),
        ('dispatching', False),
        ('running', False),
        ('succeeded', True),
        ('partial_succeeded', True),
        ('failed', True),
        ('canceled', True),
        ('cancelled', True),
        ('errored', True),
        ('something-new', False),
    ],
)
def test_terminal_statuses(status, terminal):
    """All six terminal spellings stop polling; others do not."""
    assert Run.from_json({'id': 'r', 'status_code': status}).is_terminal is (
        terminal
    )


def test_partial_success_counts_only_with_an_output():
    """partial_succeeded is a success exactly when an output URL exists."""
    with_output = {'outputs': [{'url': 'https://x/o.png'}]}
    assert Run.from_json(
        {'id': 'r', 'status_code': 'partial_succeeded', 'output': with_output}
    ).succeeded
    assert not Run.from_json(
        {'id': 'r', 'status_code': 'partial_succeeded', 'output': None}
    ).succeeded


def test_failure_fields_with_error_fallback():
    """failure_* fields first, else error.code / error.message."""
    run = Run.from_json(
        {
            'id': 'r',
            'status_code': 'failed',
            'failure_code': 'X',
            'failure_message': 'went wrong',
            'error': {'message': 'other'},
        }
    )
    assert (run.failure_code, run.failure_message) == ('X', 'went wrong')
    run = Run.from_json(
        {
            'id': 'r',
            'status_code': 'failed',
            'error': {'code': 'E', 'message': 'from error'},
        }
    )
    assert (run.failure_code, run.failure_message) == ('E', 'from error')


def test_cost_falls_back_to_the_price():
    """A missing or unparsable cost gives the default price."""
    assert Run.from_json({'id': 'r', 'cost': None}).cost_usd(0.55) == 0.55
    assert Run.from_json({'id': 'r', 'cost': 'n/a'}).cost_usd(0.55) == 0.55
    assert Run.from_json({'id': 'r', 'cost': '1.10'}).cost_usd(0.55) == 1.1


@pytest.mark.parametrize(
    ('times', 'seconds'),
    [
        (
            {
                'created_at': '2026-05-06T10:00:00.000+00:00',
                'completed_at': '2026-05-06T10:01:42.500+00:00',
            },
            102.5,
        ),
        (
            {
                'created_at': '2026-05-06T10:00:00Z',
                'finished_at': '2026-05-06T10:00:07.25Z',
            },
            7.25,
        ),
        ({'created_at': '2026-05-06T10:00:00Z', 'completed_at': None}, None),
        (  # no time zone: cannot be compared safely
            {
                'created_at': '2026-05-06T10:00:00',
                'completed_at': '2026-05-06T10:00:05',
            },
            None,
        ),
        (
            {
                'created_at': '2026-05-06T10:00:09Z',
                'completed_at': '2026-05-06T10:00:05Z',
            },
            None,
        ),
        ({'created_at': 'yesterday', 'completed_at': 5}, None),
    ],
)
def test_the_service_duration_comes_from_its_own_timestamps(times, seconds):
    """completed_at (or the SDK's finished_at) minus created_at, or None."""
    assert Run.from_json({'id': 'r', **times}).service_seconds == seconds


@pytest.mark.parametrize('data', [None, [], {}, {'id': ''}, {'id': 3}])
def test_non_runs_are_refused(data):
    """Anything without a string id is not a run (ValueError)."""
    with pytest.raises(ValueError, match='run'):
        Run.from_json(data)


def test_asset_upload_hides_presigned_url_from_repr():
    """The upload session's repr never shows the presigned URL."""
    session = AssetUpload.from_json(
        {'asset_id': 'a', 'upload_url': 'https://s/u?X-Amz-Signature=zz'}
    )
    assert session.asset_id == 'a'
    assert 'X-Amz' not in repr(session)


def test_batch_reads_the_api_reference_and_the_guide_answers():
    """The full Batch object, and the guide's ``{id, status_code,
    items_total}`` without items; terminal includes partial_succeeded."""
    from napari_outpaint._runflow.models import Batch

    full = Batch.from_json(
        {
            'id': 'b1',
            'status_code': 'PARTIAL_SUCCEEDED',
            'items_total': 2,
            'items': [
                {'sequence_index': 0, 'run_id': 'r0', 'status_code': 'failed'},
                {'sequence_index': 1, 'run_id': 'r1', 'client_ref': 'x'},
            ],
        }
    )
    assert full.status == 'partial_succeeded'
    assert full.is_terminal
    assert [(i.sequence_index, i.run_id) for i in full.items] == [
        (0, 'r0'),
        (1, 'r1'),
    ]
    assert full.items[0].is_terminal
    assert not full.items[1].is_terminal
    assert full.items[1].client_ref == 'x'
    short = Batch.from_json(
        {'batch_id': 'b2', 'status_code': 'queued', 'items_total': 3}
    )
    assert (short.id, short.items, short.items_total) == ('b2', (), 3)
    assert not short.is_terminal


@pytest.mark.parametrize('data', [None, [], {'status_code': 'queued'}])
def test_batch_without_an_id_is_refused(data):
    """Not a batch object: ValueError (the client retries the read)."""
    from napari_outpaint._runflow.models import Batch

    with pytest.raises(ValueError, match='batch'):
        Batch.from_json(data)


def test_batch_item_ignores_fields_of_the_wrong_type():
    """A bool index, a numeric run id or client_ref are read as absent."""
    from napari_outpaint._runflow.models import BatchItem

    item = BatchItem.from_json(
        {'sequence_index': True, 'run_id': 7, 'client_ref': 3}
    )
    assert (item.sequence_index, item.run_id, item.client_ref) == (
        None,
        None,
        None,
    )
    with pytest.raises(ValueError, match='object'):
        BatchItem.from_json('x')

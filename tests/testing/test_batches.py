"""The stand-in's batch routes, driven with plain httpx over real TLS."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest
from PIL import Image

from napari_outpaint.testing import RunflowStandIn

KEY = 'test-key'
BATCHES = '/v1/models/runflow/outpaint/batches'


@pytest.fixture
def client(runflow_standin):
    """An httpx client with the right key, trusting the stand-in."""
    with httpx.Client(
        base_url=runflow_standin.base_url,
        verify=runflow_standin.ssl_context(),
        headers={'Authorization': f'Bearer {KEY}'},
        timeout=10,
    ) as http:
        yield http


def _image_url(server: RunflowStandIn, client: httpx.Client) -> str:
    """A confirmed asset's URL (a small PNG)."""
    image = np.random.default_rng(0).integers(0, 256, (12, 16, 3), np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format='PNG')
    data = buffer.getvalue()
    session = client.post(
        '/v1/asset-uploads',
        json={
            'filename': 'in.png',
            'mime_type': 'image/png',
            'size_bytes': len(data),
        },
    ).json()
    with httpx.Client(verify=server.ssl_context(), timeout=10) as storage:
        put = storage.put(
            session['upload_url'],
            content=data,
            headers={'Content-Type': 'image/png'},
        )
    assert put.status_code == 200
    confirmed = client.post(
        f'/v1/asset-uploads/{session["asset_id"]}/confirmations', json={}
    )
    return confirmed.json()['url']


def _input(url: str, top: int = 10) -> dict:
    return {
        'image_url': url,
        'expand_top': top,
        'expand_bottom': 0,
        'expand_left': 5,
        'expand_right': 0,
    }


def _wait_all(server: RunflowStandIn) -> None:
    for run in server.runs:
        assert run.wait_terminal(10)


def test_api_reference_body_makes_one_run_per_item(runflow_standin, client):
    """``{"input": [...]}``: one batch, each item a normal run carrying
    its client_ref and the batch's id, readable at GET /v1/runs/{id}."""
    url = _image_url(runflow_standin, client)
    response = client.post(
        BATCHES,
        json={
            'input': [
                {**_input(url), 'client_ref': 'a'},
                {**_input(url, 20), 'client_ref': 'b'},
            ],
            'metadata': {'who': 'test'},
        },
    )
    assert response.status_code == 201
    batch = response.json()
    assert batch['items_total'] == 2
    assert batch['status_code'] in ('queued', 'running')
    assert [i['client_ref'] for i in batch['items']] == ['a', 'b']
    assert [i['sequence_index'] for i in batch['items']] == [0, 1]
    recorded = runflow_standin.get_batch(batch['id'])
    assert recorded.body_shape == 'input'
    assert recorded.run_ids == [i['run_id'] for i in batch['items']]
    assert len(runflow_standin.runs) == 2
    first = runflow_standin.get_run(batch['items'][0]['run_id'])
    assert first.batch_id == batch['id']
    assert first.input == _input(url)  # client_ref stripped from the input
    assert first.metadata == {'who': 'test'}
    _wait_all(runflow_standin)
    run = client.get(f'/v1/runs/{first.id}').json()
    assert run['status_code'] == 'succeeded'
    assert run['batch_id'] == batch['id']
    assert run['client_ref'] == 'a'
    assert run['cost'] == '0.55'
    done = client.get(f'/v1/batches/{batch["id"]}').json()
    assert done['status_code'] == 'succeeded'
    assert done['items_succeeded'] == 2
    assert done['items_failed'] == done['items_cancelled'] == 0
    assert done['cost'] == '1.10'
    assert done['completed_at'] is not None


def test_guide_body_is_accepted_too(runflow_standin, client):
    """The batch guide's ``{"items": [{"input": ...}]}`` (the sources
    disagree) makes the same runs."""
    url = _image_url(runflow_standin, client)
    response = client.post(
        BATCHES,
        json={'items': [{'input': _input(url), 'client_ref': 'g'}] * 3},
    )
    assert response.status_code == 201
    assert response.json()['items_total'] == 3
    assert runflow_standin.batches[0].body_shape == 'items'
    assert [r.client_ref for r in runflow_standin.runs] == ['g'] * 3
    assert runflow_standin.runs[0].input == _input(url)


@pytest.mark.parametrize(
    ('body', 'where'),
    [
        ({'input': []}, 'body.input'),
        ({'input': 'x'}, 'body.input'),
        ({'items': [{'input': {}}] * 101}, 'body.items'),
        ({'input': [{'expand_top': 1}]}, 'body.input.0.image_url'),
        ({'items': [{'input': None}]}, 'body.items.0.input'),
    ],
)
def test_invalid_batches_are_refused_naming_the_field(
    runflow_standin, client, body, where
):
    """1-100 items, each validated as a single run: 422 names the field
    (and the item's index); nothing is created."""
    response = client.post(BATCHES, json=body)
    assert response.status_code == 422
    assert response.json()['code'] == 'VALIDATION_ERROR'
    assert where in response.json()['message']
    assert runflow_standin.runs == []
    assert runflow_standin.batches == []


def test_an_invalid_item_names_its_index(runflow_standin, client):
    """A bad percentage in the second item: 422 at body.input.1."""
    url = _image_url(runflow_standin, client)
    response = client.post(
        BATCHES, json={'input': [_input(url), _input(url, top=81)]}
    )
    assert response.status_code == 422
    locs = [e['loc'] for e in response.json()['errors']]
    assert locs == [['body', 'input', '1', 'expand_top']]
    assert runflow_standin.runs == []


def test_idempotency_key_replays_the_batch(runflow_standin, client):
    """The same key and body: the same batch, no second; another body
    under that key: 409."""
    url = _image_url(runflow_standin, client)
    body = {'input': [_input(url), _input(url)]}
    headers = {'Idempotency-Key': 'k-1'}
    first = client.post(BATCHES, json=body, headers=headers)
    again = client.post(BATCHES, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()['id'] == first.json()['id']
    assert len(runflow_standin.batches) == 1
    assert len(runflow_standin.runs) == 2
    other = client.post(
        BATCHES, json={'input': [_input(url)]}, headers=headers
    )
    assert other.status_code == 409
    assert len(runflow_standin.runs) == 2


def test_a_model_without_batches_answers_422(runflow_standin, client):
    """The opt-in fault: the documented 422 for per-provider-only models;
    no batch, no run."""
    url = _image_url(runflow_standin, client)
    runflow_standin.set_batch_support(False)
    response = client.post(BATCHES, json={'input': [_input(url)]})
    assert response.status_code == 422
    assert 'does not support batches' in response.json()['message']
    assert runflow_standin.runs == []
    runflow_standin.set_batch_support(True)
    assert client.post(BATCHES, json={'input': [_input(url)]}).is_success


def test_stand_in_supports_batches_unless_told_not_to():
    """The default is documented: supported; ``supports_batches=False``."""
    assert RunflowStandIn().supports_batches is True
    assert RunflowStandIn(supports_batches=False).supports_batches is False


def test_failed_item_makes_the_batch_partial_succeeded(
    runflow_standin, client
):
    """One failed item of three: ``partial_succeeded`` with the counts;
    /items gives each item's outputs (none for the failed one)."""
    url = _image_url(runflow_standin, client)
    runflow_standin.fail_next_run()
    batch = client.post(BATCHES, json={'input': [_input(url)] * 3}).json()
    _wait_all(runflow_standin)
    done = client.get(f'/v1/batches/{batch["id"]}').json()
    assert done['status_code'] == 'partial_succeeded'
    assert (done['items_succeeded'], done['items_failed']) == (2, 1)
    assert [i['status_code'] for i in done['items']] == [
        'failed',
        'succeeded',
        'succeeded',
    ]
    items = client.get(f'/v1/batches/{batch["id"]}/items').json()['items']
    assert items[0]['output'] is None
    assert items[0]['failure_code'] == 'PROVIDER_ERROR'
    url = items[1]['output']['outputs'][0]['url']
    with httpx.Client(verify=runflow_standin.ssl_context()) as storage:
        assert storage.get(url).status_code == 200


def test_every_item_failing_makes_the_batch_failed(runflow_standin, client):
    """All items failed: ``failed``; all canceled: ``canceled``."""
    url = _image_url(runflow_standin, client)
    runflow_standin.fail_next_run()
    runflow_standin.fail_next_run()
    failed = client.post(BATCHES, json={'input': [_input(url)] * 2}).json()
    runflow_standin.cancel_next_run()
    canceled = client.post(BATCHES, json={'input': [_input(url)]}).json()
    _wait_all(runflow_standin)
    failed = client.get(f'/v1/batches/{failed["id"]}').json()
    assert (failed['status_code'], failed['items_failed']) == ('failed', 2)
    canceled = client.get(f'/v1/batches/{canceled["id"]}').json()
    assert (canceled['status_code'], canceled['items_cancelled']) == (
        'canceled',
        1,
    )


def test_unknown_batch_is_404_and_batches_need_the_key(runflow_standin):
    """GET of an unknown batch: 404; without the bearer key: 401."""
    with httpx.Client(
        base_url=runflow_standin.base_url,
        verify=runflow_standin.ssl_context(),
        timeout=10,
    ) as anonymous:
        assert anonymous.post(BATCHES, json={'input': []}).status_code == 401
        unknown = '/v1/batches/00000000-0000-0000-0000-000000000000'
        assert anonymous.get(unknown).status_code == 401
        found = anonymous.get(
            unknown, headers={'Authorization': f'Bearer {KEY}'}
        )
    assert found.status_code == 404
    assert found.json()['code'] == 'BATCH_NOT_FOUND'


def test_reject_batch_creates_refuses_without_a_batch(runflow_standin, client):
    """An injected 503 on the batch create: no batch, no run."""
    url = _image_url(runflow_standin, client)
    runflow_standin.reject_batch_creates(503)
    response = client.post(BATCHES, json={'input': [_input(url)]})
    assert response.status_code == 503
    assert runflow_standin.batches == []
    assert runflow_standin.runs == []

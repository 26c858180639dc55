"""The Runflow stand-in, driven with plain httpx over real TLS."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import sys
import threading
import time

import httpx
import numpy as np
import pytest
from PIL import Image, UnidentifiedImageError

from napari_outpaint.testing import RunflowStandIn

KEY = 'test-key'
RUNS = '/v1/models/runflow/outpaint/runs'


def _png(rows: int = 30, cols: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (rows, cols, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format='PNG')
    return image, buffer.getvalue()


def _decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert('RGB'))


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


def _storage(server: RunflowStandIn) -> httpx.Client:
    return httpx.Client(verify=server.ssl_context(), timeout=10)


def _upload(server, client, data, mime='image/png') -> dict:
    session = client.post(
        '/v1/asset-uploads',
        json={
            'filename': 'in.png',
            'mime_type': mime,
            'size_bytes': len(data),
        },
    )
    assert session.status_code == 201
    with _storage(server) as storage:
        put = storage.put(
            session.json()['upload_url'],
            content=data,
            headers={'Content-Type': mime},
        )
    assert put.status_code == 200
    confirmed = client.post(
        f'/v1/asset-uploads/{session.json()["asset_id"]}/confirmations',
        json={'folder_id': None},
    )
    assert confirmed.status_code == 201
    return confirmed.json()


def _input(image_url: str, top=10, bottom=20, left=0, right=50) -> dict:
    return {
        'image_url': image_url,
        'expand_top': top,
        'expand_bottom': bottom,
        'expand_left': left,
        'expand_right': right,
    }


def _finish(server, client, run_id: str) -> dict:
    assert server.get_run(run_id).wait_terminal(10)
    return client.get(f'/v1/runs/{run_id}').json()


def _download(server, url: str) -> httpx.Response:
    with _storage(server) as storage:
        return storage.get(url)


def test_fixture_serves_https_on_loopback(runflow_standin):
    """The runflow_standin fixture is started on https://127.0.0.1."""
    assert runflow_standin.base_url.startswith('https://127.0.0.1:')
    assert os.path.exists(runflow_standin.ca_path)
    assert runflow_standin.api_key == KEY


def test_api_requires_the_bearer_key(runflow_standin, client):
    """/v1 answers 401 UNAUTHORIZED without the right bearer key."""
    with httpx.Client(
        base_url=runflow_standin.base_url,
        verify=runflow_standin.ssl_context(),
    ) as anonymous:
        missing = anonymous.get('/v1/health')
        wrong = anonymous.get(
            '/v1/health', headers={'Authorization': 'Bearer nope'}
        )
    for response in (missing, wrong):
        assert response.status_code == 401
        body = response.json()
        assert body['code'] == 'UNAUTHORIZED'
        assert body['errors'] is None
        assert body['message']
    ok = client.get('/v1/health')
    assert ok.status_code == 200
    assert ok.json() == {'status': 'ok', 'ok': True}


def test_asset_flow_round_trip_and_delete(runflow_standin, client):
    """Upload, confirm, fetch by the asset URL, delete, then 404."""
    _, data = _png()
    asset = _upload(runflow_standin, client, data)
    recorded = runflow_standin.assets[asset['id']]
    assert recorded.data == data
    assert recorded.confirmed
    assert asset['mime_type'] == 'image/png'
    assert asset['size_bytes'] == len(data)
    assert asset['url'].startswith(runflow_standin.base_url + '/storage/')
    fetched = _download(runflow_standin, asset['url'])
    assert fetched.status_code == 200
    assert fetched.content == data
    assert fetched.headers['content-type'] == 'image/png'
    assert client.get(f'/v1/assets/{asset["id"]}').status_code == 200
    assert client.delete(f'/v1/assets/{asset["id"]}').status_code == 204
    assert recorded.deleted
    assert _download(runflow_standin, asset['url']).status_code == 404
    assert client.get(f'/v1/assets/{asset["id"]}').status_code == 404
    assert client.delete(f'/v1/assets/{asset["id"]}').status_code == 404


@pytest.mark.parametrize(
    ('headers', 'body_delta', 'strip_signature', 'status'),
    [
        ({'Authorization': f'Bearer {KEY}'}, 0, False, 400),
        ({'Content-Type': 'image/webp'}, 0, False, 403),
        ({}, 1, False, 400),
        ({}, 0, True, 403),
    ],
    ids=['auth-header', 'content-type', 'size', 'no-signature'],
)
def test_presigned_put_is_strict(
    runflow_standin, client, headers, body_delta, strip_signature, status
):
    """The presigned PUT refuses auth headers, other types, sizes, no sig."""
    _, data = _png()
    session = client.post(
        '/v1/asset-uploads',
        json={
            'filename': 'in.png',
            'mime_type': 'image/png',
            'size_bytes': len(data),
        },
    ).json()
    url = session['upload_url']
    if strip_signature:
        url = url.split('?')[0]
    with _storage(runflow_standin) as storage:
        put = storage.put(
            url,
            content=data + b'x' * body_delta,
            headers={'Content-Type': 'image/png', **headers},
        )
    assert put.status_code == status
    assert runflow_standin.assets[session['asset_id']].data is None
    assert runflow_standin.requests[-1].method == 'PUT'
    assert runflow_standin.requests[-1].headers.get(
        'authorization'
    ) == headers.get('Authorization')


@pytest.mark.parametrize(
    'size', [0, 52428801, True, '10'], ids=['0', 'too-big', 'bool', 'str']
)
def test_upload_session_checks_size(client, size):
    """size_bytes must be an int in 1..52428800 (422 otherwise)."""
    response = client.post(
        '/v1/asset-uploads',
        json={
            'filename': 'a.png',
            'mime_type': 'image/png',
            'size_bytes': size,
        },
    )
    assert response.status_code == 422
    assert response.json()['errors'][0]['loc'] == ['body', 'size_bytes']


def _valid_body() -> dict:
    return {'input': _input('https://example.org/a.png')}


def _with(path: tuple, value) -> dict:
    body = _valid_body()
    target = body
    for part in path[:-1]:
        target = target[part]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


@pytest.mark.parametrize(
    ('body', 'loc'),
    [
        ({'input': 'x'}, ['body', 'input']),
        (
            _with(('input', 'image_url'), KeyError),
            ['body', 'input', 'image_url'],
        ),
        (
            _with(('input', 'image_url'), 'http://example.org/a.png'),
            ['body', 'input', 'image_url'],
        ),
        (
            _with(('input', 'expand_top'), KeyError),
            ['body', 'input', 'expand_top'],
        ),
        (
            _with(('input', 'expand_top'), True),
            ['body', 'input', 'expand_top'],
        ),
        (
            _with(('input', 'expand_bottom'), 1.5),
            ['body', 'input', 'expand_bottom'],
        ),
        (
            _with(('input', 'expand_left'), 81),
            ['body', 'input', 'expand_left'],
        ),
        (
            _with(('input', 'expand_right'), -1),
            ['body', 'input', 'expand_right'],
        ),
        (_with(('client_ref',), 'r' * 256), ['body', 'client_ref']),
        (
            _with(('callback_url',), 'https://x/' + 'c' * 2040),
            ['body', 'callback_url'],
        ),
    ],
    ids=[
        'input-not-object',
        'no-image-url',
        'http-url',
        'no-expand-top',
        'bool-expand',
        'float-expand',
        'expand-81',
        'expand-negative',
        'long-client-ref',
        'long-callback',
    ],
)
def test_create_validates_strictly(runflow_standin, client, body, loc):
    """Bad run inputs get 422 VALIDATION_ERROR naming the field, no run."""
    response = client.post(RUNS, json=body)
    assert response.status_code == 422
    payload = response.json()
    assert payload['code'] == 'VALIDATION_ERROR'
    assert payload['message']
    assert payload['errors'][0]['loc'] == loc
    assert runflow_standin.runs == []


def test_idempotency_key_replays_and_conflicts(runflow_standin, client):
    """Same key and body replays the 201; another body gets 409."""
    _, data = _png()
    asset = _upload(runflow_standin, client, data)
    body = {'input': _input(asset['url']), 'client_ref': 'ref-1'}
    headers = {'Idempotency-Key': 'key-1'}
    first = client.post(RUNS, json=body, headers=headers)
    again = client.post(RUNS, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    other = dict(body, client_ref='ref-2')
    conflict = client.post(RUNS, json=other, headers=headers)
    assert conflict.status_code == 409
    assert conflict.json()['code'] == 'CONFLICT'
    assert len(runflow_standin.runs) == 1
    assert runflow_standin.runs[0].idempotency_key == 'key-1'


def test_run_progresses_and_returns_the_expanded_canvas(
    runflow_standin, client
):
    """queued -> running -> succeeded, output = reflected expanded canvas."""
    runflow_standin.set_delays(queue_delay=0.05, processing_delay=0.05)
    image, data = _png(30, 40)
    asset = _upload(runflow_standin, client, data)
    created = client.post(
        RUNS,
        json={
            'input': _input(asset['url'], top=10, bottom=20, right=50),
            'metadata': {'who': 'test'},
            'client_ref': 'progress',
        },
    )
    assert created.status_code == 201
    run = created.json()
    assert run['status_code'] == 'queued'
    assert run['output'] is None
    assert run['metadata'] == {'who': 'test'}
    seen = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = client.get(f'/v1/runs/{run["id"]}').json()['status_code']
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in ('succeeded', 'failed'):
            break
    order = ['queued', 'running', 'succeeded']
    assert seen[-1] == 'succeeded'
    assert seen == sorted(seen, key=order.index)  # never goes back
    recorded = runflow_standin.get_run(run['id'])
    start = recorded.created_monotonic
    assert recorded.status_at(start + 0.04) == 'queued'
    assert recorded.status_at(start + 0.06) == 'running'
    assert recorded.status_at(recorded.completed_monotonic) == 'succeeded'
    done = client.get(f'/v1/runs/{run["id"]}').json()
    assert done['cost'] == '0.55'
    assert isinstance(done['output']['seed'], int)
    assert done['completed_at'] is not None
    assert recorded.fetched_image == data
    assert recorded.fetched_content_type == 'image/png'
    # queue + processing delay (0.05 s each), to float precision
    assert (
        recorded.completed_monotonic >= recorded.created_monotonic + 0.1 - 1e-9
    )
    output = _download(runflow_standin, done['output']['outputs'][0]['url'])
    assert output.headers['content-type'] == 'image/png'
    canvas = _decode(output.content)
    assert canvas.shape == (30 + 3 + 6, 40 + 20, 3)
    np.testing.assert_array_equal(canvas[3:33, 0:40], image)
    np.testing.assert_array_equal(canvas[2, :40], image[0])  # mirrored edge
    np.testing.assert_array_equal(canvas[3:33, 40], image[:, 39])


@pytest.mark.parametrize('output_format', ['png', 'webp'])
def test_upscaled_output_has_the_requested_long_side(output_format):
    """With upscale_long_side the output's long side is exactly that."""
    _, data = _png(30, 40)
    with (
        RunflowStandIn(
            processing_delay=0.0,
            upscale_long_side=256,
            output_format=output_format,
        ) as server,
        httpx.Client(
            base_url=server.base_url,
            verify=server.ssl_context(),
            headers={'Authorization': f'Bearer {KEY}'},
        ) as client,
    ):
        asset = _upload(server, client, data)
        created = client.post(RUNS, json={'input': _input(asset['url'])})
        done = _finish(server, client, created.json()['id'])
        url = done['output']['outputs'][0]['url']
        assert url.split('?')[0].endswith(f'.{output_format}')
        output = _download(server, url)
    assert output.headers['content-type'] == f'image/{output_format}'
    canvas = _decode(output.content)
    # the canvas is 39 x 60, so 256 px wide and 256 * 39 / 60 high
    assert canvas.shape == (round(256 * 39 / 60), 256, 3)


def test_upscale_beyond_4096_is_refused():
    """The service never returns more than 4096 px on the long side."""
    with pytest.raises(ValueError, match='4096'):
        RunflowStandIn(upscale_long_side=5000)


def test_unfetchable_image_url_fails_the_run(runflow_standin, client):
    """A 403 on image_url ends the run failed with INPUT_FETCH_FAILED."""
    _, data = _png()
    asset = _upload(runflow_standin, client, data)
    broken = asset['url'].split('?')[0] + '?X-Amz-Signature=wrong'
    created = client.post(RUNS, json={'input': _input(broken)}).json()
    done = _finish(runflow_standin, client, created['id'])
    assert done['status_code'] == 'failed'
    assert done['failure_code'] == 'INPUT_FETCH_FAILED'
    assert '403' in done['failure_message']
    assert 'wrong' not in done['failure_message']  # query redacted
    assert done['failure_stage_code']
    assert done['error']['code'] == 'INPUT_FETCH_FAILED'
    assert done['output'] is None
    assert runflow_standin.get_run(created['id']).fetched_image is None


def test_fail_polls_then_recover(runflow_standin, client):
    """fail_polls answers the next polls with the status, then normally."""
    runflow_standin.fail_polls(status=503, times=2)
    for _ in range(2):
        failed = client.get('/v1/runs/00000000-0000-0000-0000-000000000000')
        assert failed.status_code == 503
        assert failed.json()['code'] == 'SERVICE_UNAVAILABLE'
    unknown = client.get('/v1/runs/00000000-0000-0000-0000-000000000000')
    assert unknown.status_code == 404
    assert unknown.json()['code'] == 'RUN_NOT_FOUND'


def test_invalid_json_polls(runflow_standin, client):
    """invalid_json_polls answers 200 with a body that is not JSON."""
    runflow_standin.invalid_json_polls(times=1)
    response = client.get('/v1/runs/00000000-0000-0000-0000-000000000000')
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert client.get('/v1/runs/x').status_code == 404


@pytest.mark.parametrize(
    ('status', 'code'),
    [(429, 'RATE_LIMITED'), (402, 'INSUFFICIENT_CREDIT'), (503, None)],
)
def test_reject_creates(runflow_standin, client, status, code):
    """reject_creates refuses creation without making a run."""
    runflow_standin.reject_creates(status=status, code=code, retry_after=2)
    body = {'input': _input('https://127.0.0.1:1/a.png')}
    refused = client.post(RUNS, json=body)
    assert refused.status_code == status
    assert refused.json()['code'] == (code or 'SERVICE_UNAVAILABLE')
    assert refused.headers['retry-after'] == '2'
    assert runflow_standin.runs == []
    assert client.post(RUNS, json=body).status_code == 201
    assert len(runflow_standin.runs) == 1


def test_reject_creates_without_retry_after(runflow_standin, client):
    """Without retry_after no Retry-After header is sent."""
    runflow_standin.reject_creates()
    refused = client.post(RUNS, json=_valid_body())
    assert refused.status_code == 429
    assert 'retry-after' not in refused.headers


def test_dropped_create_still_makes_the_run(runflow_standin, client):
    """The run exists after a dropped create; client_ref search finds it."""
    runflow_standin.drop_connection_after_create()
    body = {'input': _input('https://127.0.0.1:1/a.png'), 'client_ref': 'r-9'}
    headers = {'Idempotency-Key': 'drop-1'}
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(RUNS, json=body, headers=headers)
    assert len(runflow_standin.runs) == 1
    found = client.get('/v1/runs', params={'q': 'client_ref:r-9'}).json()
    assert [item['id'] for item in found['items']] == [
        runflow_standin.runs[0].id
    ]
    none = client.get('/v1/runs', params={'q': 'client_ref:other'}).json()
    assert none['items'] == []
    replay = client.post(RUNS, json=body, headers=headers)
    assert replay.json()['id'] == runflow_standin.runs[0].id
    assert len(runflow_standin.runs) == 1


def test_fail_next_run(runflow_standin, client):
    """fail_next_run makes exactly the next run end failed."""
    _, data = _png()
    asset = _upload(runflow_standin, client, data)
    runflow_standin.fail_next_run('PROVIDER_ERROR', 'GPU melted')
    first = client.post(RUNS, json={'input': _input(asset['url'])}).json()
    second = client.post(RUNS, json={'input': _input(asset['url'])}).json()
    failed = _finish(runflow_standin, client, first['id'])
    assert failed['status_code'] == 'failed'
    assert failed['failure_code'] == 'PROVIDER_ERROR'
    assert failed['failure_message'] == 'GPU melted'
    assert failed['error'] == {
        'code': 'PROVIDER_ERROR',
        'message': 'GPU melted',
    }
    assert failed['cost'] is None
    ok = _finish(runflow_standin, client, second['id'])
    assert ok['status_code'] == 'succeeded'


def test_corrupt_next_output(runflow_standin, client):
    """corrupt_next_output serves bytes that do not decode as an image."""
    _, data = _png()
    asset = _upload(runflow_standin, client, data)
    runflow_standin.corrupt_next_output()
    created = client.post(RUNS, json={'input': _input(asset['url'])}).json()
    done = _finish(runflow_standin, client, created['id'])
    assert done['status_code'] == 'succeeded'
    output = _download(runflow_standin, done['output']['outputs'][0]['url'])
    assert output.status_code == 200
    with pytest.raises(UnidentifiedImageError):
        _decode(output.content)


def test_fail_asset_delete(runflow_standin, client):
    """fail_asset_delete refuses one DELETE and keeps the asset."""
    _, data = _png()
    asset = _upload(runflow_standin, client, data)
    runflow_standin.fail_asset_delete(status=405)
    refused = client.delete(f'/v1/assets/{asset["id"]}')
    assert refused.status_code == 405
    assert not runflow_standin.assets[asset['id']].deleted
    assert client.delete(f'/v1/assets/{asset["id"]}').status_code == 204


@pytest.mark.parametrize('step', ['upload-session', 'confirm'])
def test_fail_step_refuses_one_api_step_and_does_nothing(
    runflow_standin, client, step
):
    """The failed step answers its status; the next one works."""
    _, data = _png()
    runflow_standin.fail_step(step, status=503)
    if step == 'upload-session':
        body = {'filename': 'a.png', 'mime_type': 'image/png', 'size_bytes': 3}
        assert client.post('/v1/asset-uploads', json=body).status_code == 503
        assert runflow_standin.assets == {}
    else:
        with pytest.raises(AssertionError):
            _upload(runflow_standin, client, data)
        (asset,) = runflow_standin.assets.values()
        assert not asset.confirmed
    assert _upload(runflow_standin, client, data)['url']


def test_fail_step_drops_the_upload_without_storing_it(
    runflow_standin, client
):
    """status 0 closes the connection without a response."""
    _, data = _png()
    session = client.post(
        '/v1/asset-uploads',
        json={
            'filename': 'a.png',
            'mime_type': 'image/png',
            'size_bytes': len(data),
        },
    ).json()
    runflow_standin.fail_step('upload', status=0)
    with _storage(runflow_standin) as storage, pytest.raises(httpx.HTTPError):
        storage.put(
            session['upload_url'],
            content=data,
            headers={'Content-Type': 'image/png'},
        )
    assert runflow_standin.assets[session['asset_id']].data is None
    with pytest.raises(ValueError, match='step must be'):
        runflow_standin.fail_step('poll')


def test_stall_downloads_says_nothing_until_released(runflow_standin, client):
    """A stalled output answers nothing within a client's read timeout."""
    _, data = _png()
    asset = _upload(runflow_standin, client, data)
    created = client.post(RUNS, json={'input': _input(asset['url'])}).json()
    done = _finish(runflow_standin, client, created['id'])
    url = done['output']['outputs'][0]['url']
    runflow_standin.stall_downloads(seconds=30)
    with (
        httpx.Client(verify=runflow_standin.ssl_context(), timeout=0.3) as c,
        pytest.raises(httpx.ReadTimeout),
    ):
        c.get(url)
    assert _download(runflow_standin, url).status_code == 200


def test_slow_queue_keeps_runs_queued(runflow_standin, client):
    """set_delays(queue_delay=...) keeps new runs queued meanwhile."""
    _, data = _png()
    asset = _upload(runflow_standin, client, data)
    runflow_standin.set_delays(queue_delay=60.0)
    created = client.post(RUNS, json={'input': _input(asset['url'])}).json()
    recorded = runflow_standin.get_run(created['id'])
    assert recorded.wait_processed(10)
    assert recorded.output is not None
    polled = client.get(f'/v1/runs/{created["id"]}').json()
    assert polled['status_code'] == 'queued'
    assert recorded.completed_monotonic is None


def test_requests_are_recorded_and_key_stays_off_storage(
    runflow_standin, client
):
    """Every request is recorded; storage requests never see the key."""
    _, data = _png()
    asset = _upload(runflow_standin, client, data)
    created = client.post(
        RUNS,
        json={'input': _input(asset['url'])},
        headers={'Idempotency-Key': 'rec-1'},
    ).json()
    done = _finish(runflow_standin, client, created['id'])
    _download(runflow_standin, done['output']['outputs'][0]['url'])
    requests = runflow_standin.requests
    paths = [(r.method, r.path.split('/')[2]) for r in requests]
    assert ('PUT', 'uploads') in paths
    assert ('GET', 'outputs') in paths
    create = next(r for r in requests if r.path == RUNS)
    assert json.loads(create.body)['input']['image_url'] == asset['url']
    assert create.headers['idempotency-key'] == 'rec-1'
    assert create.headers['authorization'] == f'Bearer {KEY}'
    for request in requests:
        if request.path.startswith('/storage/'):
            assert 'X-Amz-Signature=' in request.query
            assert KEY not in json.dumps(request.headers)


def test_nothing_logged_contains_the_key(client, runflow_standin, caplog):
    """No log record mentions the key; ours carry no signature."""
    caplog.set_level(logging.DEBUG)
    _, data = _png()
    asset = _upload(runflow_standin, client, data)
    created = client.post(RUNS, json={'input': _input(asset['url'])}).json()
    _finish(runflow_standin, client, created['id'])
    client.get('/v1/health', headers={'Authorization': 'Bearer wrong'})
    assert KEY not in caplog.text
    own = [r for r in caplog.records if r.name.startswith('napari_outpaint')]
    assert not any('X-Amz-Signature' in r.getMessage() for r in own)


def test_clean_shutdown_closes_everything():
    """Leaving the block refuses connections and joins every thread."""
    with RunflowStandIn(processing_delay=0.0) as server:
        host, port = server.base_url.removeprefix('https://').split(':')
        ca_path = server.ca_path
        thread = server.thread
        idle = httpx.Client(
            base_url=server.base_url,
            verify=server.ssl_context(),
            headers={'Authorization': f'Bearer {KEY}'},
        )
        assert idle.get('/v1/health').status_code == 200  # keep-alive
    try:
        assert not thread.is_alive()
        assert not os.path.exists(ca_path)
        assert not [
            t for t in threading.enumerate() if t.name.startswith('runflow')
        ]
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((host, int(port)), timeout=2)
    finally:
        idle.close()


def test_exception_inside_the_block_still_stops_it():
    """An exception in the with-block still stops the server."""
    server = RunflowStandIn(processing_delay=0.0)
    with pytest.raises(KeyboardInterrupt):
        _interrupt_inside(server)
    assert server.thread is None
    assert not [
        t for t in threading.enumerate() if t.name.startswith('runflow')
    ]


def _interrupt_inside(server: RunflowStandIn) -> None:
    with server:
        assert server.thread.is_alive()
        raise KeyboardInterrupt


def test_missing_trustme_names_the_extra(monkeypatch):
    """Without trustme, starting says to install the testing extra."""
    monkeypatch.setitem(sys.modules, 'trustme', None)
    with (
        pytest.raises(ImportError, match=r'napari-outpaint\[testing\]'),
        RunflowStandIn(),
    ):
        pass

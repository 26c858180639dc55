"""RunflowClient: configuration, never paying twice, and secrecy.

Narrow cases script the server with httpx.MockTransport; the rest talk to
the stand-in (or a closed port) over real sockets.
"""

import json
import logging
import socket

import httpx
import numpy as np
import pytest

from napari_outpaint import (
    APIConnectionError,
    ConfigurationError,
    Expand,
    OutpaintError,
    ResultError,
    SubmissionUnknownError,
)
from napari_outpaint._runflow.client import RunflowClient
from napari_outpaint._runflow.retry import PollSchedule, RetryPolicy
from napari_outpaint.engines.runflow import RunflowEngine
from napari_outpaint.testing import RunflowStandIn

FAST = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02)
BASE = 'https://api.example.test'
RUN = {'id': 'run-1', 'status_code': 'queued'}
SECRET = 'rf_live_SECRETKEY_do_not_leak_42'


def _client(handler, **kwargs):
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return RunflowClient(
        'key',
        base_url=BASE,
        http_client=http,
        create_retry=FAST,
        poll_retry=FAST,
        sleep=lambda seconds: None,
        **kwargs,
    )


class Script:
    """Answers requests from a list of (method, path) -> action rules."""

    def __init__(self, *actions):
        self.actions = list(actions)
        self.seen = []

    def __call__(self, request):
        self.seen.append(request)
        action = self.actions.pop(0)
        if isinstance(action, Exception):
            raise action
        if callable(action):  # answers from what was sent before
            return action(self)
        return action


def _posts(script):
    return [r for r in script.seen if r.method == 'POST']


def test_read_error_after_send_looks_up_then_creates_once_more():
    """A lost response with no run found creates again, same keys."""
    script = Script(
        httpx.ReadError('connection reset'),
        httpx.Response(200, json={'items': []}),
        httpx.Response(201, json=RUN),
    )
    run = _client(script).create_run('runflow/outpaint', {'a': 1})
    assert run.id == 'run-1'
    posts = _posts(script)
    assert len(posts) == 2
    assert (
        posts[0].headers['idempotency-key']
        == (posts[1].headers['idempotency-key'])
    )
    assert posts[0].content == posts[1].content
    lookup = script.seen[1]
    ref = json.loads(posts[0].content)['client_ref']
    assert lookup.url.params['q'] == f'client_ref:{ref}'


@pytest.mark.parametrize(
    'failure',
    [
        httpx.RemoteProtocolError('server disconnected'),
        httpx.ReadTimeout('timed out'),
        httpx.Response(502, text='bad gateway'),
        httpx.Response(201, text='<html>not json</html>'),
    ],
)
def test_ambiguous_create_adopts_the_existing_run(failure):
    """When the run may exist, it is looked up and adopted, not re-made:
    only the listed run whose client_ref is exactly ours."""

    def listing(script):
        ref = json.loads(_posts(script)[0].content)['client_ref']
        items = [
            {**RUN, 'id': 'no-ref'},
            {**RUN, 'id': 'other', 'client_ref': f'{ref}-other'},
            {**RUN, 'client_ref': ref},
        ]
        return httpx.Response(200, json={'items': items})

    script = Script(failure, listing)
    run = _client(script).create_run('runflow/outpaint', {})
    assert run.id == 'run-1'
    assert len(_posts(script)) == 1


def _search_answers(*answers):
    """A lost create, then these search answers, then a created run."""
    return Script(
        httpx.ReadError('reset'), *answers, httpx.Response(201, json=RUN)
    )


@pytest.mark.parametrize(
    'listed',
    [
        [{**RUN, 'id': 'no-ref'}],
        [{**RUN, 'id': 'other', 'client_ref': 'napari-outpaint-other'}],
    ],
    ids=['without-client-ref', 'another-client-ref'],
)
def test_a_listed_run_that_is_not_ours_is_never_adopted(listed):
    """A search the service ignored (it lists other runs) adopts nothing:
    the same request goes again, with the same Idempotency-Key."""
    script = _search_answers(httpx.Response(200, json={'items': listed}))
    run = _client(script).create_run('runflow/outpaint', {})
    assert run.id == 'run-1'
    first, second = _posts(script)
    assert (
        first.headers['idempotency-key'] == second.headers['idempotency-key']
    )
    assert first.content == second.content


def test_a_refused_search_falls_back_to_the_exact_match_form():
    """q=client_ref:<ref> refused (422): q=client_ref.EQ:'<ref>' next."""
    script = _search_answers(
        httpx.Response(422, json={'code': 'VALIDATION_ERROR'}),
        httpx.Response(200, json={'items': []}),
    )
    _client(script).create_run('runflow/outpaint', {})
    searches = [r for r in script.seen if r.method == 'GET']
    ref = json.loads(_posts(script)[0].content)['client_ref']
    assert [r.url.params['q'] for r in searches] == [
        f'client_ref:{ref}',
        f"client_ref.EQ:'{ref}'",
    ]


def test_an_outcome_that_stays_unknown_names_the_client_ref():
    """Every create lost after sending, every search refused: no run is
    adopted, the error says a run may be billed and how to collect it."""
    refused = httpx.Response(403, json={'code': 'PERMISSION_DENIED'})
    script = Script(*[httpx.ReadError('reset'), refused] * FAST.max_attempts)
    with pytest.raises(SubmissionUnknownError) as info:
        _client(script).create_run('runflow/outpaint', {})
    ref = json.loads(_posts(script)[0].content)['client_ref']
    assert info.value.client_ref == ref
    assert f'napari-outpaint collect client_ref:{ref}' in str(info.value)
    assert 'may have been created and billed' in str(info.value)
    assert len(_posts(script)) == FAST.max_attempts
    assert len({p.headers['idempotency-key'] for p in _posts(script)}) == 1


def test_connect_errors_are_retried_without_lookup():
    """Connection refused means no run: retried directly, bounded."""
    script = Script(
        httpx.ConnectError('refused'),
        httpx.ConnectError('refused'),
        httpx.Response(201, json=RUN),
    )
    assert _client(script).create_run('runflow/outpaint', {}).id == 'run-1'
    assert [r.method for r in script.seen] == ['POST'] * 3


def test_refused_port_gives_up_after_the_bound():
    """Against a closed port, create fails after max_attempts tries."""
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    waits = []
    client = RunflowClient(
        'key',
        base_url=f'https://127.0.0.1:{port}',
        create_retry=FAST,
        sleep=waits.append,
    )
    with client, pytest.raises(APIConnectionError, match='ConnectError'):
        client.create_run('runflow/outpaint', {})
    assert len(waits) == FAST.max_attempts - 1


def test_download_refuses_plain_http():
    """An http:// output URL is refused before any request."""
    script = Script()
    with pytest.raises(ResultError, match='not an HTTPS URL'):
        _client(script).download('http://x/o.png?sig=1', max_bytes=10)
    assert not script.seen


def test_missing_key_fails_before_any_io():
    """No key: ConfigurationError naming RUNFLOW_API_KEY, no request."""
    with pytest.raises(ConfigurationError, match='RUNFLOW_API_KEY'):
        RunflowEngine(base_url=BASE)


@pytest.mark.parametrize(
    'url', ['http://api.runflow.io', 'ftp://x', 'api.runflow.io', 'https://']
)
def test_non_https_base_url_is_refused(url):
    """Only https:// base URLs are accepted (the key never goes in clear)."""
    with pytest.raises(ConfigurationError, match='https'):
        RunflowEngine('key', base_url=url)


@pytest.mark.parametrize(
    'url', ['https://api.runflow.io/v1', 'https://proxy.example/rf/V1/']
)
def test_a_base_url_ending_in_v1_is_refused_naming_the_root(url):
    """The client adds /v1 itself: every request would be a 404 blamed on
    the run id. Refused before any I/O, naming the URL to use instead."""
    with pytest.raises(ConfigurationError) as caught:
        RunflowEngine('key', base_url=url)
    message = str(caught.value)
    assert 'ends in /v1' in message
    assert repr(url.rstrip('/')[: -len('/v1')]) in message
    assert 'RUNFLOW_BASE_URL' in message


def test_env_base_url_and_key_are_used(monkeypatch):
    """RUNFLOW_BASE_URL and RUNFLOW_API_KEY configure the engine."""
    monkeypatch.setenv('RUNFLOW_API_KEY', 'env-key')
    monkeypatch.setenv('RUNFLOW_BASE_URL', 'https://proxy.example/')
    engine = RunflowEngine()
    assert engine.base_url == 'https://proxy.example'
    monkeypatch.setenv('RUNFLOW_BASE_URL', 'http://proxy.example')
    with pytest.raises(ConfigurationError, match='RUNFLOW_BASE_URL'):
        RunflowEngine()


def test_tls_verification_cannot_be_disabled():
    """verify=False is refused: TLS is always verified."""
    with pytest.raises(ConfigurationError, match='always verified'):
        RunflowEngine('key', verify=False)
    with pytest.raises(ConfigurationError, match='CA bundle'):
        RunflowEngine('key', verify='/no/such/ca.pem')


def test_untrusted_certificate_fails_fast(runflow_standin):
    """Default trust rejects the stand-in's private CA at once, no retry."""
    server = runflow_standin
    waits = []
    client = RunflowClient(
        server.api_key, base_url=server.base_url, sleep=waits.append
    )
    with client, pytest.raises(APIConnectionError, match='SSL_CERT_FILE'):
        client.create_run('runflow/outpaint', {})
    assert waits == []
    assert not server.requests


def test_ssl_cert_file_is_honoured(runflow_standin, monkeypatch):
    """With verify=None, SSL_CERT_FILE makes a private CA trusted."""
    server = runflow_standin
    monkeypatch.setenv('SSL_CERT_FILE', server.ca_path)
    with RunflowClient(server.api_key, base_url=server.base_url) as client:
        assert client.find_runs_by_client_ref('nothing') == []


def test_key_and_presigned_queries_never_leak(caplog):
    """Across success and failures: no key or signature in logs, errors."""
    texts = []
    with RunflowStandIn(api_key=SECRET, processing_delay=0.02) as server:
        engine = RunflowEngine(
            SECRET,
            base_url=server.base_url,
            verify=server.ca_path,
            poll_interval=PollSchedule(0.02, 1.5, 0.05),
            client_options={'create_retry': FAST, 'poll_retry': FAST},
        )
        texts += [repr(engine), str(engine)]
        image = np.zeros((20, 30, 3), np.uint8)
        faults = [
            lambda: None,
            lambda: server.reject_creates(status=402),
            lambda: server.reject_creates(status=422),
            lambda: server.fail_polls(status=503, times=FAST.max_attempts),
            server.fail_next_run,
            server.corrupt_next_output,
            lambda: server.fail_asset_delete(status=405),
            server.drop_connection_after_create,
        ]
        with caplog.at_level(logging.DEBUG):
            for inject in faults:
                inject()
                try:
                    result = engine.outpaint(image, Expand(10, 0, 0, 0))
                except OutpaintError as exc:
                    texts += [str(exc), repr(exc), repr(exc.__dict__)]
                else:
                    texts.append(repr(result))
        storage = [r for r in server.requests if r.path.startswith('/storage')]
        assert storage
        for request in storage:
            assert SECRET not in json.dumps(request.headers)
            assert SECRET not in request.query
    texts.append(caplog.text)
    everything = '\n'.join(texts)
    assert 'Runflow API error 402' in everything  # failures did happen
    assert SECRET not in everything
    assert 'X-Amz-Signature' not in everything


@pytest.mark.parametrize('as_text', [False, True])
def test_httpx_request_log_lines_lose_presigned_queries(as_text):
    """httpx's own request log never shows a presigned query string."""
    url = httpx.URL('https://storage.example/o.png?X-Amz-Signature=abc')
    plain = httpx.URL('https://api.example/v1/runs?q=client_ref:x')
    args = ('GET', url, plain)
    if as_text:  # some log-record factories stringify args (napari's)
        args = tuple(str(a) for a in args)
    record = logging.LogRecord(
        'httpx',
        logging.INFO,
        __file__,
        1,
        'HTTP Request: %s %s %s',
        args,
        None,
    )
    for log_filter in logging.getLogger('httpx').filters:
        log_filter.filter(record)
    message = record.getMessage()
    assert 'abc' not in message
    assert 'https://storage.example/o.png?<redacted>' in message
    assert 'q=client_ref:x' in message


# -- batches ----------------------------------------------------------------

BATCH = {
    'id': 'batch-1',
    'status_code': 'queued',
    'items_total': 2,
    'items': [
        {'sequence_index': 0, 'run_id': 'r0', 'client_ref': 'a'},
        {'sequence_index': 1, 'run_id': 'r1', 'client_ref': 'b'},
    ],
}
INPUT = {
    'image_url': 'https://x.test/i.png',
    **Expand(5, 0, 0, 0).to_runflow_input(),
}


def test_create_batch_sends_the_api_reference_body():
    """One POST to /batches with ``{"input": [{<input>, client_ref}]}``
    and the metadata; the answer is typed."""
    script = Script(httpx.Response(201, json=BATCH))
    with _client(script) as client:
        batch = client.create_batch(
            'runflow/outpaint',
            [INPUT, INPUT],
            client_refs=['a', 'b'],
            metadata={'source': 'test'},
        )
    (post,) = script.seen
    assert post.url.path == '/v1/models/runflow/outpaint/batches'
    assert json.loads(post.content) == {
        'input': [{**INPUT, 'client_ref': 'a'}, {**INPUT, 'client_ref': 'b'}],
        'metadata': {'source': 'test'},
    }
    assert post.headers['Idempotency-Key']
    assert batch.id == 'batch-1'
    assert [i.run_id for i in batch.items] == ['r0', 'r1']
    assert batch.items_total == 2
    assert not batch.is_terminal


@pytest.mark.parametrize(
    'failure',
    [
        httpx.Response(503),
        httpx.Response(502),
        httpx.ReadError('lost after sending'),
    ],
)
def test_create_batch_retries_with_the_same_idempotency_key(failure):
    """A 503, a 502 or a lost answer: sent again with the same key (the
    route replays the first batch for it), never a new key."""
    script = Script(failure, httpx.Response(201, json=BATCH))
    with _client(script) as client:
        batch = client.create_batch(
            'runflow/outpaint', [INPUT, INPUT], client_refs=['a', 'b']
        )
    assert batch.id == 'batch-1'
    keys = {r.headers['Idempotency-Key'] for r in _posts(script)}
    assert len(_posts(script)) == 2
    assert len(keys) == 1


def test_create_batch_with_an_unknown_outcome_names_the_first_ref():
    """Every answer lost: SubmissionUnknownError naming a client_ref."""
    script = Script(*[httpx.ReadError('lost')] * 3)
    with (
        _client(script) as client,
        pytest.raises(SubmissionUnknownError) as caught,
    ):
        client.create_batch(
            'runflow/outpaint', [INPUT, INPUT], client_refs=['a', 'b']
        )
    assert caught.value.client_ref == 'a'


def test_create_batch_422_raises_at_once():
    """A 422 (e.g. the model takes no batches) is not retried."""
    from napari_outpaint._errors import ValidationError

    body = {'code': 'VALIDATION_ERROR', 'message': 'no batches', 'errors': []}
    script = Script(httpx.Response(422, json=body))
    with _client(script) as client, pytest.raises(ValidationError):
        client.create_batch('runflow/outpaint', [INPUT], client_refs=['a'])
    assert len(script.seen) == 1


@pytest.mark.parametrize('count', [0, 101])
def test_create_batch_refuses_a_bad_item_count_before_any_request(count):
    """1-100 items, one client_ref each: refused locally otherwise."""
    from napari_outpaint._errors import InvalidInputError

    script = Script()
    with _client(script) as client:
        with pytest.raises(InvalidInputError, match='inputs'):
            client.create_batch(
                'runflow/outpaint', [INPUT] * count, client_refs=['a'] * count
            )
        with pytest.raises(InvalidInputError, match='client_refs'):
            client.create_batch('runflow/outpaint', [INPUT], client_refs=[])
    assert script.seen == []


def test_batch_routes_against_the_stand_in(runflow_standin):
    """create_batch, iter_batch to the end, get_batch_items with outputs,
    and each item a run readable with get_run."""
    client = RunflowClient(
        'test-key',
        base_url=runflow_standin.base_url,
        verify=runflow_standin.ca_path,
    )
    with client:
        image_url = 'https://127.0.0.1:1/never-fetched.png'
        runflow_standin.fail_next_run()  # the first item fails to fetch too
        batch = client.create_batch(
            'runflow/outpaint',
            [{**INPUT, 'image_url': image_url}] * 2,
            client_refs=['a', 'b'],
        )
        seen = list(
            client.iter_batch(batch.id, schedule=PollSchedule.fixed(0.05))
        )
        assert seen[-1].is_terminal
        assert seen[-1].status == 'failed'
        assert all(not b.is_terminal for b in seen[:-1])
        items = client.get_batch_items(batch.id)
        assert [i.client_ref for i in items] == ['a', 'b']
        assert all(i.is_terminal for i in items)
        run = client.get_run(items[1].run_id)
        assert run.body['batch_id'] == batch.id
        assert run.status == 'failed'
        assert client.get_batch(batch.id).items_total == 2

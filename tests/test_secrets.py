"""Secrets out of messages and records: redact_url, scrub."""

from napari_outpaint._secrets import redact_url


def test_redact_url_drops_query_and_fragment():
    """Presigned credentials live in the query string, which is removed."""
    url = 'https://bucket.example/a/b.png?X-Amz-Signature=secret#frag'
    assert redact_url(url) == ('https://bucket.example/a/b.png?<redacted>')
    assert redact_url('https://x.example/p') == 'https://x.example/p'

"""A tiny raw HTTP client for IMDS tests (urllib would hide status codes and headers)."""
import http.client
import urllib.parse


def request(base, method, path, headers=None):
    """Returns (status, body text, headers dict lower-cased)."""
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read().decode(errors="replace")
        return resp.status, body, {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()


def token(base, ttl=60):
    status, body, _ = request(base, "PUT", "/latest/api/token",
                              {"X-aws-ec2-metadata-token-ttl-seconds": str(ttl)})
    assert status == 200, status
    return body


def get(base, path, tok):
    return request(base, "GET", path, {"X-aws-ec2-metadata-token": tok})

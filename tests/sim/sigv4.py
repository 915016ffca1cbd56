"""SigV4 verification: the signature is recomputed with botocore over the request as
received (method, URL, the headers the client said it signed, body bytes) and compared.

Accepted keys: the sim's static pair (no session token) and any IMDS-issued role
credentials (with their session token) that have not expired. Failures carry the error
code, message and HTTP status the real services send.
"""
import datetime
import hashlib
import hmac
import re

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

MAX_SKEW = 300
_AUTH_RE = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([A-Za-z0-9]{16,128})/(\d{8})/([a-z0-9-]{1,32})/"
    r"([a-z0-9-]{1,32})/aws4_request,\s*SignedHeaders=([a-z0-9;_.-]{1,1024}),\s*"
    r"Signature=([0-9a-f]{64})")


class AuthError(Exception):
    def __init__(self, code, message, status=403):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _fmt(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
        "%Y%m%dT%H%M%SZ")


def error_for(service, kind, detail=""):
    """The real code/status for each failure, per service (EC2 answers differently)."""
    ec2 = service == "ec2"
    if kind == "missing":
        return AuthError("AuthFailure", "AWS was not able to validate the provided access "
                         "credentials", 401) if ec2 else \
            AuthError("MissingAuthenticationToken", "Request is missing Authentication Token")
    if kind == "incomplete":
        return AuthError("IncompleteSignature", detail or "Authorization header requires "
                         "'Credential', 'SignedHeaders' and 'Signature'")
    if kind == "unknown-key":
        return AuthError("AuthFailure", "AWS was not able to validate the provided access "
                         "credentials", 401) if ec2 else \
            AuthError("InvalidClientTokenId", "The security token included in the request "
                      "is invalid.")
    if kind == "expired-token":
        return AuthError("RequestExpired", "Request has expired.", 400) if ec2 else \
            AuthError("ExpiredToken", "The security token included in the request is "
                      "expired")
    if kind == "skew":
        return AuthError("RequestExpired", "Request has expired.", 400) if ec2 else \
            AuthError("SignatureDoesNotMatch", detail)
    return AuthError("SignatureDoesNotMatch", detail or
                     "The request signature we calculated does not match the signature "
                     "you provided. Check your AWS Secret Access Key and signing method. "
                     "Consult the service documentation for details.")


def parse_authorization(value):
    """(access key, date, region, service, signed headers, signature) or None."""
    m = _AUTH_RE.fullmatch((value or "").strip())
    return m.groups() if m else None


def verify(creds, *, method, path, headers, body, region, now):
    """Checks the request; returns the Credential (or None for the static pair) it was
    signed with. `headers` is a list of (name, value) as received."""
    hmap = {}
    for name, value in headers:
        hmap.setdefault(name.lower(), []).append(value.strip())
    auth = hmap.get("authorization", [None])[0]
    parsed = parse_authorization(auth)
    service = parsed[3] if parsed else None
    if auth is None:
        raise error_for(service, "missing")
    if parsed is None:
        raise error_for(service, "incomplete")
    key, scope_date, scope_region, service, signed, signature = parsed
    amz_date = hmap.get("x-amz-date", [""])[0]
    try:
        when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
    except ValueError:
        raise error_for(service, "incomplete", "Authorization header requires existence of "
                        "either a 'X-Amz-Date' or a 'Date' header.") from None
    found = creds.lookup(key)
    if found is None:
        raise error_for(service, "unknown-key")
    secret, token, cred = found
    sent_token = hmap.get("x-amz-security-token", [None])[0]
    if sent_token != token:
        raise error_for(service, "unknown-key")
    if cred is not None and cred.expired():
        raise error_for(service, "expired-token")
    if when < now - MAX_SKEW:
        raise error_for(service, "skew", f"Signature expired: {amz_date} is now earlier "
                        f"than {_fmt(now - MAX_SKEW)} ({_fmt(now)} - 5 min.)")
    if when > now + MAX_SKEW:
        raise error_for(service, "skew", f"Signature not yet current: {amz_date} is still "
                        f"later than {_fmt(now + MAX_SKEW)} ({_fmt(now)} + 5 min.)")
    if scope_date != amz_date[:8]:
        raise error_for(service, "mismatch", f"Date in Credential scope does not match "
                        f"YYYYMMDD from ISO-8601 version of date from HTTP: "
                        f"'{scope_date}' != '{amz_date[:8]}', from '{amz_date}'.")
    if scope_region != region:
        raise error_for(service, "mismatch", "Credential should be scoped to a valid "
                        f"region, not '{scope_region}'. ")
    names = signed.split(";")
    if "host" not in names or any(n not in hmap for n in names):
        raise error_for(service, "mismatch")
    sha = hmap.get("x-amz-content-sha256", [None])[0]
    if sha is not None and sha != hashlib.sha256(body).hexdigest():
        raise error_for(service, "mismatch")
    request = AWSRequest(method=method, url="http://" + hmap["host"][0] + path, data=body,
                         headers={n: ",".join(hmap[n]) for n in names})
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(key, secret, token), service, scope_region)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, signature):
        raise error_for(service, "mismatch")
    return cred

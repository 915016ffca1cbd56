"""Credentials the sim hands out and accepts: one static pair, and role credentials per
instance served by IMDS (with a session token) that rotate and expire on the wall clock.

Rotation keeps the old set valid until it expires, as AWS does; IMDS offers a new set
once the current one is close to expiry (5 minutes, or half the lifetime when shorter),
as EC2 does. Expiring marks every set issued so far as expired, so requests signed with
them fail with the real error; without reissue IMDS keeps serving the expired set.
"""
import secrets
import string
import threading
import time

ROLE_NAME = "drover-sim-role"
_UPPER = string.ascii_uppercase + "234567"


def _key(prefix):
    return prefix + "".join(secrets.choice(_UPPER) for _ in range(16))


def _secret():
    alphabet = string.ascii_letters + string.digits + "+/"
    return "".join(secrets.choice(alphabet) for _ in range(40))


class Credential:
    def __init__(self, instance_id, ttl):
        now = time.time()
        self.access_key = _key("ASIA")
        self.secret = _secret()
        self.token = "IQoJb3JpZ2luX2VjE" + secrets.token_urlsafe(180)
        self.issued = now
        self.expiration = now + ttl
        self.instance_id = instance_id

    def expired(self, now=None):
        return (time.time() if now is None else now) >= self.expiration

    def to_json(self):
        return {"access_key_id": self.access_key, "secret_access_key": self.secret,
                "token": self.token, "issued": self.issued,
                "expiration": self.expiration, "instance": self.instance_id}


class CredentialStore:
    def __init__(self, ttl=6 * 3600):
        self.ttl = ttl
        self.static = (_key("AKIA"), _secret())
        self._lock = threading.Lock()
        self._by_key = {}
        self._current = {}      # instance id -> Credential served by IMDS
        self._frozen = False    # serve expired credentials (expire without reissue)

    def current(self, instance_id):
        """The role credentials IMDS serves for this instance (issued on first ask)."""
        with self._lock:
            cred = self._current.get(instance_id)
            if cred is None or (not self._frozen and cred.expiration - time.time() <
                                min(300.0, (cred.expiration - cred.issued) / 2)):
                cred = self._issue(instance_id)
            return cred

    def _issue(self, instance_id):
        cred = Credential(instance_id, self.ttl)
        self._by_key[cred.access_key] = cred
        self._current[instance_id] = cred
        return cred

    def rotate(self, ids, ttl=None):
        """Issues new credentials to these instances; old ones stay valid."""
        with self._lock:
            self._frozen = False
            for iid in ids:
                cred = self._issue(iid)
                if ttl is not None:
                    cred.expiration = cred.issued + ttl
            return [self._current[i].to_json() for i in ids]

    def expire(self, reissue=True):
        """Expires every role credential issued so far; optionally issues fresh ones."""
        with self._lock:
            past = time.time() - 1
            for cred in self._by_key.values():
                cred.expiration = min(cred.expiration, past)
            self._frozen = not reissue
            if reissue:
                for iid in list(self._current):
                    self._issue(iid)

    def lookup(self, access_key):
        """Returns (secret, token-or-None, Credential-or-None), or None if unknown."""
        if access_key == self.static[0]:
            return self.static[1], None, None
        with self._lock:
            cred = self._by_key.get(access_key)
        if cred is None:
            return None
        return cred.secret, cred.token, cred

    def to_json(self):
        with self._lock:
            return {"static": {"access_key_id": self.static[0],
                               "secret_access_key": self.static[1]},
                    "role": ROLE_NAME,
                    "issued": [c.to_json() for c in self._by_key.values()]}

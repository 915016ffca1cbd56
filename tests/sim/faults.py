"""Injected faults: per endpoint ("imds", "aws"), optionally per path prefix (IMDS) or
action name (AWS) and instance, for N requests or until cleared."""
import threading

# "status" answers an AWS error document (shape "error", or "errors": moto's
# ErrorResponse/Errors/Error); "html" answers the status with a proxy's HTML page.
KINDS = ("status", "latency", "throttle", "drop", "garbage", "truncate", "html")
SHAPES = ("error", "errors")
ENDPOINTS = ("imds", "aws")


class FaultError(ValueError):
    pass


class Fault:
    def __init__(self, spec):
        self.endpoint = spec.get("endpoint")
        self.kind = spec.get("kind")
        if self.endpoint not in ENDPOINTS:
            raise FaultError(f"endpoint must be one of {ENDPOINTS}")
        if self.kind not in KINDS:
            raise FaultError(f"kind must be one of {KINDS}")
        self.path = spec.get("path")
        self.instance = spec.get("instance")
        count = spec.get("count")
        if count is not None and (not isinstance(count, int) or count < 1):
            raise FaultError("count must be a positive integer or null")
        self.remaining = count
        self.status = int(spec.get("status", 503))
        self.seconds = float(spec.get("seconds", 2.0))
        if not 100 <= self.status <= 599 or not 0 <= self.seconds <= 600:
            raise FaultError("status must be 100..599 and seconds 0..600")
        # "status" faults may name the AWS error code and message to answer with.
        self.code = spec.get("code")
        self.message = spec.get("message")
        if self.code is not None and not (isinstance(self.code, str) and
                                          self.code.replace(".", "").isalnum()):
            raise FaultError("code must be an AWS error code such as AccessDenied")
        if self.message is not None and not isinstance(self.message, str):
            raise FaultError("message must be a string")
        self.shape = spec.get("shape", "error")
        if self.shape not in SHAPES:
            raise FaultError(f"shape must be one of {SHAPES}")
        self.hits = 0

    def matches(self, endpoint, path, action, instance):
        if endpoint != self.endpoint:
            return False
        if self.instance and self.instance != instance:
            return False
        if self.path is None:
            return True
        if endpoint == "aws":
            return self.path in (action, path)
        return path.startswith(self.path)

    def to_json(self):
        return {"endpoint": self.endpoint, "kind": self.kind, "path": self.path,
                "instance": self.instance, "remaining": self.remaining,
                "status": self.status, "seconds": self.seconds, "shape": self.shape,
                "hits": self.hits, "code": self.code, "message": self.message}


class Faults:
    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []

    def add(self, spec):
        fault = Fault(spec)
        with self._lock:
            self._faults.append(fault)
        return fault.to_json()

    def clear(self):
        with self._lock:
            self._faults = []

    def take(self, endpoint, path, action=None, instance=None):
        """The first fault matching this request, consumed once; None if none."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(endpoint, path, action, instance):
                    fault.hits += 1
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def to_json(self):
        with self._lock:
            return [f.to_json() for f in self._faults]

"""The AWS endpoint: one port for every service, routed by the SigV4 credential scope's
service (autoscaling, ec2, monitoring), Query protocol over POST (or GET) with an
optionally gzip-encoded body. Every call is verified, logged and then dispatched to the
service module's handler, whose result dict is serialized from botocore's model."""
import traceback
import zlib
import time
import urllib.parse
import uuid

import autoscaling
import cloudwatch
import ec2
from awsproto import (SERVICES, ProtocolError, error_xml, parse_params, response_xml,
                      service_model)
from httpbase import BodyTooLarge, Handler
from model import ModelError
from sigv4 import AuthError, parse_authorization, verify

HANDLERS = {"autoscaling": autoscaling.HANDLERS, "ec2": ec2.HANDLERS,
            "monitoring": cloudwatch.HANDLERS}
MAX_INFLATED = 4 * 1024 * 1024
LOGGED_PARAMS_CAP = 64 * 1024


def _guess_service(action):
    for service, handlers in HANDLERS.items():
        if action in handlers:
            return service
    return "autoscaling"


def _fault_error(service, fault):
    """(code, message, status) for the "throttle" and "status" fault kinds."""
    if fault.kind == "throttle":
        if service == "ec2":
            return "RequestLimitExceeded", "Request limit exceeded.", 503
        return "Throttling", "Rate exceeded", 400
    if fault.code:
        return fault.code, fault.message or f"{fault.code} (injected)", fault.status
    if fault.status == 503:
        return ("Unavailable" if service == "ec2" else "ServiceUnavailable",
                "The service is unavailable. Please try again shortly.", 503)
    return ("InternalError" if service == "ec2" else "InternalFailure",
            "An internal error has occurred", fault.status)


class AwsHandler(Handler):
    server_version = "AmazonWebServices"

    def date_time_string(self, timestamp=None):
        # the Date header is AWS's clock, so clients can correct their skew from it
        return super().date_time_string(self.app.world.clock.aws_now())

    def do_POST(self):
        try:
            self._serve()
        except Exception:   # a bug in the sim: say so in the log and in the answer
            traceback.print_exc()
            self.respond(500, error_xml("autoscaling", "InternalFailure", "sim bug",
                                        "0"), "text/xml")

    def _serve(self):
        request_id = str(uuid.uuid4())
        url = urllib.parse.urlsplit(self.path)
        try:
            raw = self.read_body()
        except BodyTooLarge as e:
            self.close_connection = True
            return self.respond(413, str(e))
        body = raw
        try:
            if self.headers.get("Content-Encoding", "").lower() == "gzip":
                body = _inflate(raw)
            text = body.decode("utf-8")
            params = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True,
                                                 errors="strict"))
            if self.command == "POST":
                params.update(urllib.parse.parse_qsl(text, keep_blank_values=True,
                                                     errors="strict"))
        except (ValueError, OSError, EOFError, zlib.error):
            params, body = {}, None
        action = params.get("Action", "")
        scope = parse_authorization(self.headers.get("Authorization"))
        service = scope[3] if scope else _guess_service(action)
        entry = {"time": time.time(), "service": service, "action": action,
                 "params": {k: v for k, v in params.items()
                            if k not in ("Action", "Version")},
                 "verified": False, "error": None, "status": None, "instance": None,
                 "access_key": scope[0] if scope else None,
                 "gzip": body is not raw, "request_id": request_id}
        if len(str(entry["params"])) > LOGGED_PARAMS_CAP:
            entry["params"] = {"truncated": True}
        self.app.log_call(entry)

        try:
            cred = verify(self.app.creds, method=self.command, path=self.path,
                          headers=self.headers.items(), body=raw,
                          region=self.app.world.region, now=self.app.world.clock.aws_now())
        except AuthError as e:
            return self._error(entry, service, e.code, e.message, e.status, request_id)
        entry["verified"] = True
        entry["instance"] = cred.instance_id if cred else None
        # faults act on requests AWS would have served: after authentication
        fault = self.app.faults.take("aws", url.path, action,
                                     cred.instance_id if cred else None)
        if self.connection_fault(fault):
            entry["error"] = f"fault:{fault.kind}"
            entry["status"] = 200 if fault.kind == "garbage" else None
            return
        if fault and fault.kind in ("throttle", "status"):
            code, message, status = _fault_error(service, fault)
            return self._error(entry, service, code, message, status, request_id,
                               fault.shape)
        if fault and fault.kind == "html":      # a proxy or load balancer in the way
            entry["error"], entry["status"] = "fault:html", fault.status
            return self.respond(fault.status, f"<html><body><h1>{fault.status} Bad Gateway"
                                "</h1></body></html>\n", "text/html")
        if body is None:
            return self._error(entry, service, "MalformedQueryString",
                               "The request body could not be decoded", 400, request_id)
        if service not in SERVICES:
            return self._error(entry, service, "SignatureDoesNotMatch",
                               "Credential should be scoped to correct service.", 403,
                               request_id)
        handler = HANDLERS[service].get(action)
        model = service_model(service)
        if handler is None or action not in model.operation_names:
            return self._error(entry, service, "InvalidAction",
                               f"The action {action} is not valid for this web service.",
                               400, request_id)
        op = model.operation_model(action)
        try:
            args = parse_params(params, op.input_shape, model.protocol == "ec2")
            result = handler(self.app, args)
        except (ProtocolError, ModelError) as e:
            code = e.code
            if service == "ec2" and code == "ValidationError":
                code = "InvalidParameterValue"
            return self._error(entry, service, code, e.message, e.status, request_id)
        entry["status"] = 200
        if fault and fault.kind == "truncate":
            entry["error"] = "fault:truncate"
        self.respond(200, response_xml(service, op, result or {}, request_id),
                     "text/xml", [("x-amzn-RequestId", request_id)],
                     truncate=bool(fault and fault.kind == "truncate"))

    do_GET = do_POST

    def _error(self, entry, service, code, message, status, request_id, shape="error"):
        entry["error"], entry["status"] = code, status
        self.respond(status, error_xml(service, code, message, request_id, shape), "text/xml",
                     [("x-amzn-RequestId", request_id)])


def _inflate(raw):
    decomp = zlib.decompressobj(16 + 15)
    out = decomp.decompress(raw, MAX_INFLATED + 1)
    if len(out) > MAX_INFLATED or not decomp.eof:
        raise ValueError("inflated body too large or truncated")
    return out

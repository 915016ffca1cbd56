"""The AWS Query protocol (and EC2's variant) driven by botocore's own service models:
flat form parameters -> nested request dict, result dict -> response XML in the shape
botocore's parser and the AWS CLI expect, and the protocols' error documents."""
import base64
import calendar
import datetime
import math
import threading
from xml.sax.saxutils import escape

import botocore.loaders
import botocore.model
from botocore.utils import parse_timestamp

# signing name (the credential scope's service) -> botocore service name
SERVICES = {"autoscaling": "autoscaling", "ec2": "ec2", "monitoring": "cloudwatch"}
MAX_LIST = 2000

_lock = threading.Lock()
_loader = None
_models = {}


class ProtocolError(Exception):
    def __init__(self, message, code="ValidationError", status=400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def service_model(signing_name):
    global _loader
    with _lock:
        if signing_name not in _models:
            if _loader is None:
                _loader = botocore.loaders.create_loader()
            name = SERVICES[signing_name]
            data = _loader.load_service_model(name, "service-2")
            _supplement(name, data)
            _models[signing_name] = botocore.model.ServiceModel(data, service_name=name)
        return _models[signing_name]


def _supplement(name, data):
    """Shapes AWS added after Debian's botocore model was cut, as the Auto Scaling API
    reference documents them (API_InstanceLifecyclePolicy, API_RetentionTriggers), so
    the sim can serve them. A newer botocore that has them is left alone."""
    if name != "autoscaling":
        return
    shapes = data["shapes"]
    shapes.setdefault("RetentionTriggers", {"type": "structure", "members": {
        "TerminateHookAbandon": {"shape": "XmlStringMaxLen255"}}})
    shapes.setdefault("InstanceLifecyclePolicy", {"type": "structure", "members": {
        "RetentionTriggers": {"shape": "RetentionTriggers"}}})
    shapes["AutoScalingGroup"]["members"].setdefault(
        "InstanceLifecyclePolicy", {"shape": "InstanceLifecyclePolicy"})


def namespace(model):
    ns = model.metadata.get("xmlNamespace") or \
        f"http://{model.metadata['endpointPrefix']}.amazonaws.com/doc/{model.api_version}/"
    return ns if ns.endswith("/") else ns + "/"


# ---- requests ----
def parse_params(flat, shape, ec2):
    """Builds the request dict for `shape` from Query parameters (Name.member.1...)."""
    if shape is None:
        return {}
    present = set()
    for key in flat:
        parts = key.split(".")
        for i in range(1, len(parts) + 1):
            present.add(".".join(parts[:i]))
    return _parse(flat, present, shape, "", ec2) or {}


def _member_name(shape, default, ec2):
    ser = shape.serialization
    if ec2:
        if "queryName" in ser:
            return ser["queryName"]
        if "name" in ser:
            return ser["name"][0].upper() + ser["name"][1:]
        return default
    return ser.get("name", default)


def _parse(flat, present, shape, prefix, ec2):
    kind = shape.type_name
    if kind == "structure":
        out = {}
        for name, member in shape.members.items():
            key = _member_name(member, name, ec2)
            key = f"{prefix}.{key}" if prefix else key
            if key in present:
                value = _parse(flat, present, member, key, ec2)
                if value is not None:
                    out[name] = value
        missing = [m for m in shape.required_members if m not in out]
        if missing:
            where = f"{prefix}." if prefix else ""
            raise ProtocolError(f"1 validation error detected: Value null at "
                                f"'{where}{missing[0]}' failed to satisfy constraint: "
                                "Member must not be null")
        return out
    if kind == "list":
        if flat.get(prefix) == "":
            return []
        if ec2 or shape.serialization.get("flattened"):
            base = prefix
        else:
            base = f"{prefix}.{shape.member.serialization.get('name', 'member')}"
        items = []
        for i in range(1, MAX_LIST + 2):
            key = f"{base}.{i}"
            if key not in present:
                break
            if i > MAX_LIST:
                raise ProtocolError(f"too many elements in {prefix}")
            items.append(_parse(flat, present, shape.member, key, ec2))
        return items
    if kind == "map":
        base = prefix if shape.serialization.get("flattened") else f"{prefix}.entry"
        out = {}
        for i in range(1, MAX_LIST + 1):
            k = f"{base}.{i}.{_member_name(shape.key, 'key', False)}"
            if k not in flat:
                break
            out[flat[k]] = _parse(flat, present,
                                  shape.value, f"{base}.{i}.{_member_name(shape.value, 'value', False)}", ec2)
        return out
    raw = flat.get(prefix)
    if raw is None:
        return None
    return _scalar(kind, raw, prefix)


def _scalar(kind, raw, name):
    try:
        if kind in ("integer", "long"):
            return int(raw)
        if kind in ("double", "float"):
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError
            return value
        if kind == "boolean":
            if raw not in ("true", "false"):
                raise ValueError
            return raw == "true"
        if kind == "timestamp":
            return calendar.timegm(parse_timestamp(raw).utctimetuple())
        if kind == "blob":
            return base64.b64decode(raw, validate=True)
    except (ValueError, TypeError, OverflowError):
        raise ProtocolError(f"Invalid value '{raw[:64]}' for {name}",
                            "InvalidParameterValue") from None
    return raw


# ---- responses ----
def _ts(value):
    if isinstance(value, (int, float)):
        value = datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (value.microsecond // 1000)


def _xml(shape, value, out):
    kind = shape.type_name
    if kind == "structure":
        for name, member in shape.members.items():
            if value.get(name) is None:
                continue
            v = value[name]
            if member.type_name == "list" and member.serialization.get("flattened"):
                tag = member.member.serialization.get("name") or \
                    member.serialization.get("name", name)
                for item in v:
                    out.append(f"<{tag}>")
                    _xml(member.member, item, out)
                    out.append(f"</{tag}>")
                continue
            tag = member.serialization.get("name", name)
            out.append(f"<{tag}>")
            _xml(member, v, out)
            out.append(f"</{tag}>")
    elif kind == "list":
        tag = shape.member.serialization.get("name", "member")
        for item in value:
            out.append(f"<{tag}>")
            _xml(shape.member, item, out)
            out.append(f"</{tag}>")
    elif kind == "map":
        for k, v in value.items():
            out.append("<entry><key>%s</key><value>" % escape(str(k)))
            _xml(shape.value, v, out)
            out.append("</value></entry>")
    elif kind == "timestamp":
        out.append(_ts(value))
    elif kind == "boolean":
        out.append("true" if value else "false")
    elif kind == "blob":
        out.append(base64.b64encode(value).decode())
    else:
        out.append(escape(str(value)))


def response_xml(signing_name, op, result, request_id):
    model = service_model(signing_name)
    ns = namespace(model)
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n', f'<{op.name}Response xmlns="{ns}">']
    shape = op.output_shape
    if model.protocol == "ec2":
        out.append(f"<requestId>{request_id}</requestId>")
        if shape is not None:
            _xml(shape, result, out)
    else:
        if shape is not None:
            wrapper = shape.serialization.get("resultWrapper", f"{op.name}Result")
            out.append(f"<{wrapper}>")
            _xml(shape, result, out)
            out.append(f"</{wrapper}>")
        out.append(f"<ResponseMetadata><RequestId>{request_id}</RequestId>"
                   "</ResponseMetadata>")
    out.append(f"</{op.name}Response>")
    return "".join(out).encode()


def error_xml(signing_name, code, message, request_id, shape="error"):
    msg = escape(message)
    if signing_name == "ec2":
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
                f"<Code>{escape(code)}</Code><Message>{msg}</Message></Error></Errors>"
                f"<RequestID>{request_id}</RequestID></Response>").encode()
    ns = namespace(service_model(signing_name if signing_name in SERVICES else "autoscaling"))
    kind = "Receiver" if code in ("InternalFailure", "ServiceUnavailable") else "Sender"
    error = (f"<Error><Type>{kind}</Type><Code>{escape(code)}</Code>"
             f"<Message>{msg}</Message></Error>")
    if shape == "errors":       # moto's, and some AWS-compatible endpoints'
        error = f"<Errors>{error}</Errors>"
    return (f'<ErrorResponse xmlns="{ns}">{error}'
            f"<RequestId>{request_id}</RequestId></ErrorResponse>\n").encode()

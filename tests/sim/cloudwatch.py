"""CloudWatch (signing name "monitoring"): PutMetricData with the real limits, and
ListMetrics / GetMetricStatistics over what was put, so tests can read metrics back."""
import threading

from awsproto import service_model
from model import ModelError

MAX_METRICS = 10000
MAX_POINTS = 10000


def _bad(message, code="InvalidParameterValue"):
    return ModelError(message, code)


class MetricStore:
    def __init__(self):
        self._lock = threading.Lock()
        self._data = {}     # (namespace, name, dims) -> [(ts, count, sum, min, max, unit)]

    def put(self, namespace, points):
        with self._lock:
            for key, point in points:
                key = (namespace,) + key
                if key not in self._data and len(self._data) >= MAX_METRICS:
                    continue
                series = self._data.setdefault(key, [])
                series.append(point)
                del series[:-MAX_POINTS]

    def metrics(self):
        with self._lock:
            return list(self._data)

    def series(self, key):
        with self._lock:
            return list(self._data.get(key, ()))


def _units():
    shape = service_model("monitoring").shape_for("StandardUnit")
    return set(shape.enum)


def _datapoints(datum, now):
    name = datum["MetricName"]
    dims = datum.get("Dimensions") or []
    if len(dims) > 30:
        raise _bad("The collection Dimensions must not have a size greater than 30.")
    if len({d["Name"] for d in dims}) != len(dims):
        raise _bad(f"Duplicate dimension names in metric {name}")
    ts = datum.get("Timestamp", now)
    if ts < now - 14 * 86400 or ts > now + 2 * 3600:
        raise _bad(f"The parameter MetricData.member.Timestamp for metric {name} must be "
                   "within the last two weeks and no more than two hours in the future.")
    unit = datum.get("Unit", "None")
    if unit not in _units():
        raise _bad(f"The value {unit} for parameter MetricData.member.Unit is invalid.")
    if datum.get("StorageResolution", 60) not in (1, 60):
        raise _bad("StorageResolution must be 1 or 60")
    given = [k for k in ("Value", "StatisticValues", "Values") if k in datum]
    if len(given) != 1:
        raise _bad(f"The parameters MetricData.member.Value, StatisticValues and Values "
                   f"are mutually exclusive and one is required (metric {name}).",
                   "InvalidParameterCombination")
    key = (name, tuple(sorted((d["Name"], d["Value"]) for d in dims)))
    if "Value" in datum:
        v = datum["Value"]
        return [(key, (ts, 1.0, v, v, v, unit))]
    if "StatisticValues" in datum:
        s = datum["StatisticValues"]
        return [(key, (ts, s["SampleCount"], s["Sum"], s["Minimum"], s["Maximum"], unit))]
    values, counts = datum["Values"], datum.get("Counts") or [1.0] * len(datum["Values"])
    if len(values) != len(counts) or len(values) > 150:
        raise _bad("Values and Counts must be the same length, at most 150")
    return [(key, (ts, c, v * c, v, v, unit)) for v, c in zip(values, counts)]


def put_metric_data(app, req):
    namespace = req["Namespace"]
    if namespace.startswith("AWS/") or not 1 <= len(namespace) <= 255:
        raise _bad(f"The value {namespace} for parameter Namespace is invalid.")
    data = req["MetricData"]
    if not 1 <= len(data) <= 1000:
        raise _bad("The collection MetricData must not have a size greater than 1000.")
    now = app.world.clock.aws_now()
    points = []
    for datum in data:
        points += _datapoints(datum, now)
    app.metrics.put(namespace, points)


def _dims_match(have, filters):
    have = dict(have)
    return all(f["Name"] in have and f.get("Value") in (None, have[f["Name"]])
               for f in filters)


def list_metrics(app, req):
    out = []
    for ns, name, dims in sorted(app.metrics.metrics()):
        if req.get("Namespace") not in (None, ns) or req.get("MetricName") not in (None, name):
            continue
        if not _dims_match(dims, req.get("Dimensions") or []):
            continue
        out.append({"Namespace": ns, "MetricName": name,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in dims]})
    start = int(req.get("NextToken") or 0)
    result = {"Metrics": out[start:start + 500]}
    if start + 500 < len(out):
        result["NextToken"] = str(start + 500)
    return result


def get_metric_statistics(app, req):
    start, end, period = req["StartTime"], req["EndTime"], req["Period"]
    stats = req.get("Statistics") or []
    if not stats and not req.get("ExtendedStatistics"):
        raise _bad("Must specify either Statistics or ExtendedStatistics",
                   "MissingParameter")
    if period < 1 or (period >= 60 and period % 60) or end <= start:
        raise _bad("The parameter Period must be 1, 5, 10, 30 or a multiple of 60, and "
                   "StartTime must be before EndTime.")
    if (end - start) / period > 1440:
        raise _bad("You have requested up to 1,440 datapoints, which exceeds the limit.",
                   "InvalidParameterCombination")
    dims = tuple(sorted((d["Name"], d["Value"]) for d in req.get("Dimensions") or []))
    buckets = {}
    for ts, count, total, lo, hi, unit in app.metrics.series(
            (req["Namespace"], req["MetricName"], dims)):
        if not start <= ts < end or req.get("Unit") not in (None, unit):
            continue
        b = buckets.setdefault(int(ts // period * period), [0.0, 0.0, None, None, unit])
        b[0] += count
        b[1] += total
        b[2] = lo if b[2] is None else min(b[2], lo)
        b[3] = hi if b[3] is None else max(b[3], hi)
    points = []
    for ts, (count, total, lo, hi, unit) in sorted(buckets.items()):
        values = {"SampleCount": count, "Sum": total, "Minimum": lo, "Maximum": hi,
                  "Average": total / count if count else 0.0}
        point = {"Timestamp": ts, "Unit": unit}
        point.update({s: values[s] for s in stats if s in values})
        points.append(point)
    return {"Label": req["MetricName"], "Datapoints": points}


HANDLERS = {"PutMetricData": put_metric_data, "ListMetrics": list_metrics,
            "GetMetricStatistics": get_metric_statistics}


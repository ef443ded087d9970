"""Runs AWS calls through botocore (the SDK the AWS CLI is built on) and reports what it parsed.

stdin: JSON list of calls:
  {"service", "operation", "params", "region", "endpoint", "credentials": {"accessKeyId", "secretAccessKey", "sessionToken"?},
   "headers": {...}, "save": name?}   (params may hold {"$ref": "name:dotted.path"}: a value of an earlier saved output)
stdout: JSON list, one per call, in order:
  {"ok": true, "output": <parsed output, datetimes as ISO strings, without ResponseMetadata>}
  {"ok": false, "code": <AWS error code>, "status": <HTTP status>, "message": ...}
  {"ok": false, "parseError": "<exception>"}  when botocore could not make sense of the response
"""
import base64
import datetime
import json
import sys
from urllib.parse import urlsplit, urlunsplit

import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

session = botocore.session.get_session()
clients = {}
# botocore names a few services otherwise than their SigV4 signing name (what the calls carry)
CLIENT_NAMES = {"servicequotas": "service-quotas"}


def client_for(call):
    creds = call["credentials"]
    key = (call["service"], call["region"], call["endpoint"], creds["accessKeyId"], json.dumps(call.get("headers") or {}, sort_keys=True))
    if key not in clients:
        c = session.create_client(
            CLIENT_NAMES.get(call["service"], call["service"]),
            region_name=call["region"],
            endpoint_url=call["endpoint"],
            aws_access_key_id=creds["accessKeyId"],
            aws_secret_access_key=creds["secretAccessKey"],
            aws_session_token=creds.get("sessionToken"),
            config=Config(retries={"max_attempts": 1, "mode": "standard"}, s3={"addressing_style": "path"}),
        )
        headers = call.get("headers") or {}

        def add_headers(request, **_):
            for k, v in headers.items():
                request.headers[k] = v

        c.meta.events.register("before-sign", add_headers)
        if call["service"] == "s3control":
            # botocore's endpoint rules put the account id in front of a custom endpoint's host, as SDK v3's do:
            # the request goes to the endpoint itself (the account travels in x-amz-account-id)
            endpoint = urlsplit(call["endpoint"]).netloc

            def to_endpoint(request, **_):
                u = urlsplit(request.url)
                if u.netloc != endpoint:
                    request.url = urlunsplit(u._replace(netloc=endpoint))

            c.meta.events.register("before-sign", to_endpoint)
        clients[key] = c
    return clients[key]


def plain(v):
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items() if k != "ResponseMetadata"}
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, datetime.datetime):
        return {"$date": v.isoformat()}
    if isinstance(v, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(v).decode()}
    if hasattr(v, "read"):
        return {"$bytes": base64.b64encode(v.read()).decode()}
    return v


def value_at(v, path):
    for k in path.split("."):
        v = v.get(k) if isinstance(v, dict) else None
    return v


def resolve(v, saved):
    """Replaces {"$ref": "name:path"} with a value from an earlier call's saved output (as the Node side does)."""
    if isinstance(v, list):
        return [resolve(x, saved) for x in v]
    if isinstance(v, dict):
        if isinstance(v.get("$ref"), str):
            name, path = v["$ref"].split(":", 1)
            found = value_at(saved.get(name), path)
            return f"unresolved-{name}" if found is None else found
        return {k: resolve(x, saved) for k, x in v.items()}
    return v


saved = {}
results = []
for call in json.load(sys.stdin):
    client = client_for(call)
    method = client.meta.method_to_api_mapping
    name = next((m for m, op in method.items() if op == call["operation"]), None)
    if name is None:
        results.append({"ok": False, "parseError": f"botocore has no operation {call['operation']} for {call['service']}"})
        continue
    try:
        out = plain(getattr(client, name)(**resolve(call["params"], saved)))
        if call.get("save"):
            saved[call["save"]] = out
        results.append({"ok": True, "output": out})
    except ClientError as e:
        err = e.response.get("Error", {})
        results.append(
            {
                "ok": False,
                "code": err.get("Code"),
                "status": e.response.get("ResponseMetadata", {}).get("HTTPStatusCode"),
                "message": err.get("Message"),
            }
        )
    except Exception as e:  # a response botocore could not parse, or a request it refused to build
        results.append({"ok": False, "parseError": f"{type(e).__name__}: {e}"})
json.dump(results, sys.stdout)

"""What `sam local` would be given, checked without Docker (no daemon runs on
the test machines, so nothing is invoked in a container):

1. Every file under events/ has the shape of the event its function receives:
   the keys (recursively) and JSON types of what `sam local generate-event`
   makes for that source, with the optional keys named below; the HTTP API
   authorizer (payload 2.0), which no generator makes, is the HTTP API event
   without a body, plus `type`, `routeArn` and `identitySource`; `credentials` (direct Lambda
   invocation) is checked by the Rust tests against its request type.
2. env.json (argv[1], from `adsconnect-dev sam-env`) against SAM CLI's own
   reading of template.yaml: a variable for each function's declared
   variables only, those it leaves out having an empty default, every value a
   plain string, and the environment SAM would resolve for the container
   pointing AWS_ENDPOINT_URL at the host's moto.

Usage: python scripts/sam_local_check.py env.json
"""
import json
import subprocess
import sys
from pathlib import Path

from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
from samcli.local.lambdafn.env_vars import EnvironmentVariables

ROOT = Path(__file__).resolve().parent.parent
GENERATORS = {
    "http": ["apigateway", "http-api-proxy"],
    "schedule": ["cloudwatch", "scheduled-event"],
    "stream": ["dynamodb", "update"],
    "queue": ["sqs", "receive-message"],
}
SOURCE = {
    "users": "http", "clerk-webhook": "http", "oauth-start": "http", "oauth-callback": "http",
    "ads-proxy": "http", "auth-check": "authorizer", "token-refresher": "schedule",
    "events-publisher": "stream", "report-worker": "queue", "credentials": None,
}
# A function with a second source: its events of that source, by file name.
SECOND_SOURCE = {("report-worker", "scheduled-event.json"): "schedule"}
# Keys an HTTP API (payload 2.0) event carries only when there is something to
# carry, or only for other authorizer kinds; and the ones the generator leaves out.
OPTIONAL = {"cookies", "queryStringParameters", "pathParameters", "body", "stageVariables",
            "requestContext.authentication", "requestContext.authorizer"}
EXTRA = {"pathParameters", "stageVariables", "requestContext.authorizer.lambda", "version"}
AUTHORIZER_KEYS = {"type", "routeArn", "identitySource"}
failures = []


def generated(source):
    out = subprocess.run([sys.executable, "-m", "samcli", "local", "generate-event", *GENERATORS[source]],
                         check=True, capture_output=True, text=True,
                         env={"SAM_CLI_TELEMETRY": "0", "PATH": "/usr/bin:/bin"}).stdout
    return json.loads(out)


def compare(ours, theirs, path, file):
    if type(ours) is not type(theirs) and not (isinstance(ours, (int, float)) and isinstance(theirs, (int, float))):
        failures.append(f"{file}: {path or 'the event'} is {type(ours).__name__}, SAM's is {type(theirs).__name__}")
        return
    if isinstance(ours, dict) and not path.endswith(("headers", "queryStringParameters", "pathParameters",
                                                     "stageVariables", "Keys", "NewImage", "OldImage",
                                                     "claims", "lambda", "detail")):
        for key in theirs:
            sub = f"{path}.{key}" if path else key
            if key not in ours and sub not in OPTIONAL and not any(sub.startswith(o + ".") for o in OPTIONAL):
                failures.append(f"{file}: lacks `{sub}`")
        for key in ours:
            sub = f"{path}.{key}" if path else key
            if key in theirs:
                compare(ours[key], theirs[key], sub, file)
            elif sub not in EXTRA and not (path == "" and key in AUTHORIZER_KEYS):
                failures.append(f"{file}: `{sub}` is not in SAM's event")
    elif isinstance(ours, list) and ours and theirs:
        for item in ours:
            compare(item, theirs[0], path + "[]", file)


def check_events():
    shapes = {s: generated(s) for s in GENERATORS}
    checked = 0
    for directory in sorted((ROOT / "events").iterdir()):
        source = SOURCE.get(directory.name, "missing")
        if source == "missing":
            failures.append(f"events/{directory.name}: no function of that name")
            continue
        for file in sorted(directory.glob("*.json")):
            event = json.loads(file.read_text())
            name = f"events/{directory.name}/{file.name}"
            source = SECOND_SOURCE.get((directory.name, file.name), SOURCE[directory.name])
            if source is None:
                continue
            if source == "authorizer":
                for key in AUTHORIZER_KEYS:
                    if key not in event:
                        failures.append(f"{name}: lacks `{key}` (HTTP API authorizer, payload 2.0)")
                # An authorizer gets no body, so no isBase64Encoded either.
                shape = {k: v for k, v in shapes["http"].items() if k != "isBase64Encoded"}
                compare(event, shape, "", name)
            else:
                compare(event, shapes[source], "", name)
            checked += 1
    return checked


def check_env_json(env_file):
    env_json = json.loads(Path(env_file).read_text())
    stacks, _ = SamLocalStackProvider.get_stacks(str(ROOT / "template.yaml"))
    functions = {f.name: f for f in SamFunctionProvider(stacks).get_all()}
    for name in sorted(set(env_json) - set(functions)):
        failures.append(f"env.json: {name} is not a function in template.yaml")
    for name, function in sorted(functions.items()):
        declared = (function.environment or {}).get("Variables", {})
        ours = env_json.get(name)
        if ours is None:
            failures.append(f"env.json: no entry for {name}")
            continue
        for key in sorted(set(ours) - set(declared)):
            failures.append(f"env.json: {name}.{key} is not declared by the template (sam local would drop it)")
        for key in sorted(set(declared) - set(ours)):
            if declared[key] not in ("", None) and key != "AWS_ENDPOINT_URL":
                failures.append(f"env.json: {name}.{key} has no value (the template's is {declared[key]!r})")
        for key, value in ours.items():
            if not isinstance(value, str):
                failures.append(f"env.json: {name}.{key} is not a string")
        resolved = EnvironmentVariables(function.name, function.memory, function.timeout, function.handler,
                                        variables=declared, override_values=ours).resolve()
        endpoint = resolved.get("AWS_ENDPOINT_URL", "")
        if name != "AuthCheckFunction" and not endpoint.startswith("http://"):
            failures.append(f"env.json: {name} would get AWS_ENDPOINT_URL={endpoint!r}, not the host's moto")
    return len(functions)


events = check_events()
functions = check_env_json(sys.argv[1])
for failure in failures:
    print("FAIL", failure)
print(f"sam local inputs: {events} events against SAM's generate-event shapes, env.json for {functions} functions; "
      f"{len(failures)} problems")
sys.exit(1 if failures else 0)

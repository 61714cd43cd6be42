"""Prints, for every operation of an assembled OpenAPI spec, the arguments
of one `runalloy-embedded api call` built from the spec's own examples, as
JSON lines: {"id": ..., "args": [...]}.

Values come from the spec: a parameter's `example` (or its schema's
`example`, `default` or first `enum` value); a request body's example (or one
built from its schema's property examples). Where the spec gives none, a
value of the schema's type is made up and the line says so ("made": [...]).
"""
import json
import sys

import yaml

METHODS = ["get", "put", "post", "delete", "patch"]
WRAPPER_HEADERS = {"authorization", "x-api-version"}


def resolve(node, spec):
    while isinstance(node, dict) and "$ref" in node:
        target = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def sample(schema, spec, name, made):
    schema = resolve(schema or {}, spec)
    for key in ("example", "default"):
        if key in schema:
            return schema[key]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {k: sample(v, spec, k, made) for k, v in props.items()}
    if kind == "array":
        return [sample(schema.get("items"), spec, name, made)]
    made.append(name)
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    return "6323d7c9122ae69742a5d0a2"


def main(path):
    spec = yaml.safe_load(open(path))
    for route, item in spec["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if not op:
                continue
            made, args = [], ["api", "call", op["operationId"]]
            seen = set()
            for param in op.get("parameters", []):
                param = resolve(param, spec)
                name = param["name"]
                if param["in"] == "header" and name.lower() in WRAPPER_HEADERS:
                    continue
                if name in seen:
                    continue
                seen.add(name)
                if "example" in param:
                    value = param["example"]
                else:
                    value = sample(param.get("schema"), spec, name, made)
                if isinstance(value, bool):
                    value = "true" if value else "false"
                args += ["--param", "%s=%s" % (name, value)]
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None:
                examples = body.get("examples") or {}
                if examples:
                    value = next(iter(examples.values())).get("value")
                elif "example" in body:
                    value = body["example"]
                else:
                    value = sample(body.get("schema"), spec, "body", made)
                args += ["--body", json.dumps(value)]
            print(json.dumps({"id": op["operationId"], "args": args, "made": made}))


if __name__ == "__main__":
    main(sys.argv[1])

#!/usr/bin/env python3
"""Writes the Connect routes into http/static/openapi.json: for every method of
voxgate.v1.VoxgateService and google.longrunning.Operations, POST
/<service>/<method> with its request and answer as JSON Schemas of the proto's
JSON mapping, Connect's error shape, and GET for the methods that only read.
The OpenAI routes in the file are written by hand and kept as they are.

With --check, fails (naming the file) when the checked-in document differs
from what proto/ gives: the test command runs that. Run with the tools venv's
python (it reads the descriptors of the generated Python stubs)."""

from __future__ import annotations

import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "client/python/src"))

from google.longrunning import operations_proto_pb2  # noqa: E402
from google.protobuf import descriptor  # noqa: E402
from voxgate.v1 import service_pb2  # noqa: E402

DOCUMENT = ROOT / "http/static/openapi.json"
SERVICES = [service_pb2.DESCRIPTOR.services_by_name["VoxgateService"],
            operations_proto_pb2.DESCRIPTOR.services_by_name["Operations"]]
# Connect GET serves these (operations/unary_methods.h: side_effect_free).
READ_ONLY = {"ListModels", "GetOperation", "ListOperations"}
CLIENT_STREAMS = {"StreamTranscribe", "TranscribeUpload"}
PREFIXES = tuple(f"/{service.full_name}/" for service in SERVICES)
FD = descriptor.FieldDescriptor

# Well-known types as the JSON mapping writes them.
WELL_KNOWN = {
    "google.protobuf.Duration": {"type": "string", "description": "seconds, e.g. \"1.5s\""},
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Empty": {"type": "object"},
    "google.protobuf.Any": {"type": "object", "properties": {"@type": {"type": "string"}},
                            "additionalProperties": True},
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.Value": {},
}
SCALARS = {
    FD.TYPE_DOUBLE: {"type": "number"}, FD.TYPE_FLOAT: {"type": "number"},
    FD.TYPE_INT32: {"type": "integer"}, FD.TYPE_UINT32: {"type": "integer"},
    FD.TYPE_SINT32: {"type": "integer"}, FD.TYPE_FIXED32: {"type": "integer"},
    FD.TYPE_SFIXED32: {"type": "integer"},
    # 64-bit integers are strings in the JSON mapping (numbers are accepted).
    FD.TYPE_INT64: {"type": ["string", "integer"]}, FD.TYPE_UINT64: {"type": ["string", "integer"]},
    FD.TYPE_SINT64: {"type": ["string", "integer"]},
    FD.TYPE_FIXED64: {"type": ["string", "integer"]},
    FD.TYPE_SFIXED64: {"type": ["string", "integer"]},
    FD.TYPE_BOOL: {"type": "boolean"}, FD.TYPE_STRING: {"type": "string"},
    FD.TYPE_BYTES: {"type": "string", "contentEncoding": "base64"},
}


def ref(message: descriptor.Descriptor) -> dict:
    return {"$ref": f"#/components/schemas/{message.full_name}"}


def field_schema(field: descriptor.FieldDescriptor, schemas: dict) -> dict:
    if field.type == FD.TYPE_MESSAGE:
        if field.message_type.GetOptions().map_entry:
            value = field.message_type.fields_by_name["value"]
            return {"type": "object", "additionalProperties": field_schema(value, schemas)}
        add_message(field.message_type, schemas)
        single = ref(field.message_type)
    elif field.type == FD.TYPE_ENUM:
        single = {"type": "string", "enum": [value.name for value in field.enum_type.values]}
    else:
        single = dict(SCALARS[field.type])
    if field.is_repeated:
        return {"type": "array", "items": single}
    return single


def add_message(message: descriptor.Descriptor, schemas: dict) -> None:
    if message.full_name in schemas:
        return
    if message.full_name in WELL_KNOWN:
        schemas[message.full_name] = WELL_KNOWN[message.full_name]
        return
    schema = {"type": "object", "properties": {}}
    schemas[message.full_name] = schema  # before the fields: messages may nest
    for field in message.fields:
        schema["properties"][field.json_name] = field_schema(field, schemas)


def connect_paths(schemas: dict) -> dict:
    error = {"$ref": "#/components/responses/ConnectError"}
    paths = {}
    for service in SERVICES:
        for method in service.methods:
            add_message(method.input_type, schemas)
            add_message(method.output_type, schemas)
            name = method.name
            post = {
                "operationId": f"{service.full_name}.{name}",
                "summary": f"{service.full_name}/{name} over Connect or gRPC-Web",
                "tags": ["Connect"],
            }
            errors = {status: error for status in
                      ("400", "401", "403", "404", "409", "429", "499", "500", "501", "503",
                       "504")}
            if name in CLIENT_STREAMS:
                post["description"] = (
                    f"{name} streams from the client, which HTTP/1.1 cannot carry: call it "
                    "over gRPC" + (" or the WebSocket /v1/stream/transcribe"
                                   if name == "StreamTranscribe" else "") +
                    ". Over HTTP it answers 501 unimplemented.")
                post["responses"] = {"501": error}
            elif method.server_streaming:
                post["description"] = (
                    "A server stream: the request as one enveloped message "
                    "(application/connect+json or +proto, or gRPC-Web); the answer "
                    f"enveloped {method.output_type.full_name} messages, then Connect's "
                    "end-of-stream message (or gRPC-Web's trailers) with the status. "
                    "Always HTTP 200.")
                post["requestBody"] = {"required": True, "content": {
                    "application/connect+json": {"schema": {"type": "string",
                                                            "format": "binary"}}}}
                post["responses"] = {"200": {
                    "description": f"Enveloped {method.output_type.full_name} messages.",
                    "content": {"application/connect+json": {
                        "schema": {"type": "string", "format": "binary"}}}}}
            else:
                post["requestBody"] = {"required": True, "content": {
                    "application/json": {"schema": ref(method.input_type)}}}
                post["responses"] = {"200": {
                    "description": f"A {method.output_type.full_name}.",
                    "content": {"application/json": {"schema": ref(method.output_type)}}},
                    **errors}
            route = {"post": post}
            if name in READ_ONLY:
                route["get"] = {
                    "operationId": f"{service.full_name}.{name}.get",
                    "summary": f"{service.full_name}/{name} as a Connect GET (cacheable)",
                    "tags": ["Connect"],
                    "parameters": [
                        {"name": "connect", "in": "query", "schema": {"const": "v1"}},
                        {"name": "encoding", "in": "query", "required": True,
                         "schema": {"enum": ["json", "proto"]}},
                        {"name": "message", "in": "query", "required": True,
                         "description": f"The {method.input_type.full_name}.",
                         "schema": {"type": "string"}},
                        {"name": "base64", "in": "query", "schema": {"const": "1"}}],
                    "responses": post["responses"]}
            paths[f"/{service.full_name}/{name}"] = route
    return paths


def document() -> str:
    current = json.loads(DOCUMENT.read_text())
    paths = {path: route for path, route in current["paths"].items()
             if not path.startswith(PREFIXES)}
    schemas = {name: schema for name, schema in current["components"]["schemas"].items()
               if "." not in name}
    proto_schemas: dict = {}
    paths.update(connect_paths(proto_schemas))
    schemas.update(dict(sorted(proto_schemas.items())))
    current["paths"] = paths
    current["components"]["schemas"] = schemas
    current["components"]["responses"]["ConnectError"] = {
        "description": "Connect's error: the code's name, the message, and details such "
                       "as google.rpc.RetryInfo (the status matches the code).",
        "content": {"application/json": {"schema": {
            "type": "object", "required": ["code"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                           "details": {"type": "array", "items": {
                               "type": "object", "properties": {
                                   "type": {"type": "string"},
                                   "value": {"type": "string",
                                             "contentEncoding": "base64"}}}}}}}}}
    return json.dumps(current, indent=1, ensure_ascii=False) + "\n"


def main() -> int:
    text = document()
    if sys.argv[1:] == ["--check"]:
        if DOCUMENT.read_text() != text:
            print(f"stale: {DOCUMENT.relative_to(ROOT)} differs from what proto/ gives "
                  "(run scripts/gen_openapi.py)", file=sys.stderr)
            return 1
        print("openapi.json matches proto/")
        return 0
    DOCUMENT.write_text(text)
    print(f"wrote the Connect routes into {DOCUMENT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

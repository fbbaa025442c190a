#!/usr/bin/env python3
"""The JSON form's OpenAPI document, checked by maintained validators.

1. docs/openapi.json is a valid OpenAPI 3.1 document (openapi-spec-validator).
2. Every answer in target/tmp/json-corpus — the simulator's answers to the
   random requests of every request type it handles and to an unfiltered
   query of every list, written there by `cargo test -p qbsim --test random`
   — validates against the document's schema for its version (jsonschema,
   Draft 2020-12, which OpenAPI 3.1 schemas are).

Usage: .ci/openapi-check.py [CORPUS_DIR]
"""
import json
import pathlib
import sys

from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

root = pathlib.Path(__file__).resolve().parent.parent
spec = json.loads((root / "docs/openapi.json").read_text())
validate(spec)
print("docs/openapi.json: a valid OpenAPI 3.1 document")

corpus = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else root / "target/tmp/json-corpus"
files = sorted(corpus.glob("*.json"))
if not files:
    sys.exit(f"no answers in {corpus}: run `cargo test -p qbsim --test random` first")

# $refs point into the document: "#/components/schemas/…".
registry = Registry().with_resource("urn:qbc", Resource.from_contents(spec, DRAFT202012))
validators = {}
for major in ("13", "16"):
    schema = {"$ref": f"urn:qbc#/components/schemas/v{major}.Document"}
    validators[major] = Draft202012Validator(schema, registry=registry)

bad = 0
responses = 0
for f in files:
    doc = json.loads(f.read_text())
    major = str(doc.get("version", "16.0")).split(".")[0]
    v = validators["13" if int(major) <= 13 else "16"]
    errors = list(v.iter_errors(doc))
    for e in errors[:3]:
        print(f"{f.name}: {'/'.join(map(str, e.absolute_path))}: {e.message[:300]}")
    bad += bool(errors)
    responses += sum(
        len(v) if isinstance(v, list) else 1
        for k, v in doc["QBXML"].get("QBXMLMsgsRs", {}).items()
        if not k.startswith(("#", "@"))
    )
print(f"{len(files)} answers ({responses} responses) checked against their version's schema; {bad} invalid")
sys.exit(1 if bad else 0)

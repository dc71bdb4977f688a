"""Validate HTTP requests against the official OpenSearch API specification.

The specification (opensearch-project/opensearch-api-specification, OpenAPI 3.1 in YAML,
``$ref``s across files) is reference data nobody here wrote. It is looked for at
``$OPENSEARCH_API_SPEC`` or ``../shared/opensearch-api-spec`` from the project root; its
``spec/`` folder holds ``namespaces/*.yaml`` (operations) and ``schemas/*.yaml``.

:meth:`Spec.check` matches one request (method, path, query, body) to the operation the
server would route it to and returns every violation: an unknown path or method, an
undeclared query parameter, a path or query value outside its schema, a missing or
invalid body. NDJSON bodies (``_bulk``) are split on ``\\n`` only (as the server does:
``str.splitlines`` would also split inside a string on U+2028 and friends) and checked
line by line: each action line against ``OperationContainer``, and the line after an
``update`` action against ``UpdateAction``, which is stricter than the spec's own
``anyOf`` (whose last branch is "any object").

The known defect of the snapshot (see its ABOUT.md) and one more found here (an
ambiguous ``oneOf`` that rejects every documented field sort) are patched explicitly in
:data:`SPEC_DEFECTS`; loading fails loudly if a patched rule is no longer there.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import yaml
from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema import _keywords as keywords
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~6x faster on the ~10 MB of YAML
ROOT = Path(__file__).resolve().parents[3]
METHODS = ("get", "put", "post", "delete", "head", "patch")

_DELETE = object()

# Rules of the snapshot that contradict OpenSearch's documentation, as (file, JSON pointer
# of a schema, key, the value the snapshot has, the value used instead or _DELETE).
# Loading fails if the snapshot no longer has that value (the spec was fixed).
SPEC_DEFECTS: tuple[tuple[str, str, str, Any, Any], ...] = (
    # Known defect (ABOUT.md): FunctionScoreContainer's second allOf branch caps the WHOLE
    # function object at one property, rejecting the documented {"filter": ..., "weight": ...}.
    ("schemas/_common.query_dsl.yaml", "/components/schemas/FunctionScoreContainer/allOf/1", "maxProperties", 1,
     _DELETE),
    # SortCombinations is a oneOf of `field`, `field_with_direction`, `field_with_order` and
    # `options`; `options` (SortOptions: the special sorts _score, _geo_distance, _script)
    # declares those keys but leaves any other single key open, so the documented
    # {"price": {"order": "asc"}} matches both `field_with_order` and `options` and oneOf
    # rejects every field sort. Closed to its three keys here. (A {"_score": {...}} object
    # stays ambiguous even so: the adapter sends the bare "_score", which sorts descending.)
    ("schemas/_common.yaml", "/components/schemas/SortOptions", "propertyNames", None,
     {"enum": ["_score", "_geo_distance", "_script"]}),
)


def spec_dir() -> Path | None:
    """The ``spec/`` folder of the API specification, or None where it is absent."""
    configured = os.environ.get("OPENSEARCH_API_SPEC", "").strip()
    base = Path(configured) if configured else ROOT.parent / "shared" / "opensearch-api-spec"
    folder = base / "spec"
    return folder if (folder / "namespaces" / "_core.yaml").is_file() else None


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _pointer(document: Any, pointer: str) -> Any:
    node = document
    for part in pointer.lstrip("/").split("/"):
        node = node[int(part)] if isinstance(node, list) else node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _memo_validator(memo: dict[tuple[Any, ...], list[ValidationError]]) -> Any:
    """Draft 2020-12 with ``$ref`` results memoised by (base URI, ref, instance): the spec's
    query DSL nests ``oneOf``s whose branches revalidate the same subtrees many times
    over (seconds per search body without it). Same answers, only faster."""

    def ref(validator: Any, ref: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
        key = (validator._resolver._base_uri, ref, json.dumps(instance, sort_keys=True))
        errors = memo.get(key)
        if errors is None:
            errors = memo[key] = list(keywords.ref(validator, ref, instance, schema))
        for error in errors:
            yield ValidationError.create_from(error)  # callers prepend paths in place: never share

    return validators.extend(Draft202012Validator, {"$ref": ref})


@dataclass(frozen=True)
class Operation:
    id: str
    method: str
    template: str
    pattern: re.Pattern[str]
    literals: int
    file_uri: str
    parameters: tuple[Mapping[str, Any], ...]
    body: Mapping[str, Any] | None  # the resolved requestBody object


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    body: bytes | None
    content_type: str = "application/json"

    @classmethod
    def of(cls, method: str, url: str, body: bytes | str | None, content_type: str = "application/json") -> Request:
        parts = urlsplit(url)
        raw = body.encode() if isinstance(body, str) else body
        return cls(method.upper(), unquote(parts.path), tuple(parse_qsl(parts.query, keep_blank_values=True)),
                   raw or None, content_type.split(";")[0].strip().lower())


class Spec:
    """The loaded specification: operations by path template, schemas in one registry."""

    def __init__(self, folder: Path, defects: tuple[tuple[str, str, str, Any, Any], ...] = SPEC_DEFECTS) -> None:
        self.folder = folder
        documents: dict[str, Any] = {}
        for path in sorted(folder.rglob("*.yaml")):
            if "json_schemas" in path.parts:
                continue
            documents[path.resolve().as_uri()] = yaml.load(path.read_text(), Loader=_LOADER)
        for file, pointer, key, value, fixed in defects:
            node = _pointer(documents[(folder / file).resolve().as_uri()], pointer)
            if node.get(key) != value:
                raise AssertionError(f"spec defect {file}#{pointer}/{key} is gone: drop it from SPEC_DEFECTS")
            if fixed is _DELETE:
                del node[key]
            else:
                node[key] = fixed
        self.documents = documents
        resources = ((uri, Resource.from_contents(doc, default_specification=DRAFT202012))
                     for uri, doc in documents.items())
        self.registry: Registry = Registry().with_resources(resources).crawl()
        self.globals = _pointer(documents[(folder / "_global_parameters.yaml").resolve().as_uri()],
                                "/components/parameters")
        self.operations = list(self._operations())
        self._validators: dict[str, Any] = {}
        self._validator_class = _memo_validator({})

    # -- loading --
    def _resolve(self, uri: str, pointer: str) -> tuple[str, str, Mapping[str, Any]]:
        """Follow the ``$ref`` chain of a parameter or request body object (not a schema)."""
        node = _pointer(self.documents[uri], pointer)
        while "$ref" in node:
            target, _, pointer = node["$ref"].partition("#")
            if target:
                uri = (Path(uri.removeprefix("file://")).parent / target).resolve().as_uri()
            node = _pointer(self.documents[uri], pointer)
        return uri, pointer, node

    def _operations(self) -> Iterator[Operation]:
        for uri, doc in self.documents.items():
            if "/namespaces/" not in uri:
                continue
            for template, item in (doc.get("paths") or {}).items():
                segments = template.strip("/").split("/") if template != "/" else []
                regex = "".join("/" + (f"(?P<{s[1:-1]}>[^/]+)" if s.startswith("{") else re.escape(s))
                                for s in segments) or "/"
                literals = sum(1 for s in segments if not s.startswith("{"))
                for method in METHODS:
                    op = item.get(method)
                    if op is None:
                        continue
                    at = f"/paths/{_escape(template)}/{method}"
                    params = []
                    for i in range(len(op.get("parameters") or [])):
                        p_uri, p_pointer, param = self._resolve(uri, f"{at}/parameters/{i}")
                        params.append({**param, "schema_ref": f"{p_uri}#{p_pointer}/schema"})
                    body = None
                    if "requestBody" in op:
                        b_uri, b_pointer, body_node = self._resolve(uri, f"{at}/requestBody")
                        body = {**body_node, "at": f"{b_uri}#{b_pointer}"}
                    yield Operation(op["operationId"], method.upper(), template, re.compile(regex + "/?$"), literals,
                                    uri, tuple(params), body)

    # -- validation --
    def _schema_errors(self, ref: str, instance: Any) -> list[str]:
        """Errors of ``instance`` against the schema at ``ref`` (absolute URI + JSON pointer)."""
        validator = self._validators.get(ref)
        if validator is None:
            validator = self._validators[ref] = self._validator_class({"$ref": ref}, registry=self.registry)
        error = best_match(validator.iter_errors(instance))
        if error is None:
            return []
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        return [f"{where}: {error.message[:400]}"]

    def _value_errors(self, ref: str, raw: str) -> list[str]:
        """A path or query string is valid if it, or its JSON reading (``true``, ``30``),
        or its comma-separated list validates (OpenAPI ``style: form``/``simple``)."""
        candidates: list[Any] = [raw]
        with contextlib.suppress(ValueError):
            candidates.append(json.loads(raw))
        candidates.append(raw.split(","))
        errors: list[str] = []
        for value in candidates:
            found = self._schema_errors(ref, value)
            if not found:
                return []
            errors = errors or found
        return errors

    def operation(self, request: Request) -> tuple[Operation, dict[str, str]] | None:
        """The operation the server routes ``request`` to: literal segments beat variables."""
        best: tuple[Operation, dict[str, str]] | None = None
        for op in self.operations:
            if op.method != request.method:
                continue
            match = op.pattern.match(request.path)
            if match and (best is None or op.literals > best[0].literals):
                best = op, {k: unquote(v) for k, v in match.groupdict().items()}
        return best

    def check(self, request: Request) -> list[str]:
        """Every violation of the specification in ``request`` (empty: valid)."""
        found = self.operation(request)
        if found is None:
            return [f"{request.method} {request.path}: no such operation in the API specification"]
        op, path_values = found
        where = f"{op.id} {request.method} {op.template}"
        problems: list[str] = []
        declared = {(p["in"], p["name"]): p for p in op.parameters}
        for name, value in path_values.items():
            param = declared.get(("path", name))
            if param is None:
                problems.append(f"{where}: path parameter {name!r} is not declared")
                continue
            problems += [f"{where}: path {name}={value!r}: {e}"
                         for e in self._value_errors(param["schema_ref"], value)]
        for name, value in request.query:
            param = declared.get(("query", name)) or self._global(name)
            if param is None:
                problems.append(f"{where}: query parameter {name!r} is not in the API specification")
                continue
            problems += [f"{where}: query {name}={value!r}: {e}"
                         for e in self._value_errors(param["schema_ref"], value)]
        problems += [f"{where}: body {e}" for e in self._body_errors(op, request)]
        return problems

    def _global(self, name: str) -> Mapping[str, Any] | None:
        param = self.globals.get(name)
        if param is None:
            return None
        uri = (self.folder / "_global_parameters.yaml").resolve().as_uri()
        return {**param, "schema_ref": f"{uri}#/components/parameters/{_escape(name)}/schema"}

    def _body_errors(self, op: Operation, request: Request) -> list[str]:
        spec = op.body
        if request.body is None:
            return ["is required"] if spec is not None and spec.get("required") else []
        if spec is None:
            return ["the operation takes no body"]
        content = spec.get("content") or {}
        media = request.content_type if request.content_type in content else next(iter(content), None)
        if media is None or (request.content_type not in content and not
                             (request.content_type == "application/json" and "application/x-ndjson" not in content)):
            return [f"content type {request.content_type!r} is not one of {sorted(content)}"]
        ref = f"{spec['at']}/content/{_escape(media)}/schema"
        if media == "application/x-ndjson":
            return self._ndjson_errors(op, ref, request.body)
        try:
            instance = json.loads(request.body)
        except ValueError as exc:
            return [f"is not JSON: {exc}"]
        return self._schema_errors(ref, instance)

    def _ndjson_errors(self, op: Operation, ref: str, body: bytes) -> list[str]:
        text = body.decode()
        if not text.endswith("\n"):
            return ["an NDJSON body must end with a newline"]
        try:
            lines = [json.loads(line) for line in text[:-1].split("\n")]
        except ValueError as exc:
            return [f"a line is not JSON: {exc}"]
        problems = self._schema_errors(ref, lines)
        if op.id.startswith("bulk."):
            problems += self._bulk_pairs(lines)
        return problems

    def _bulk_pairs(self, lines: list[Any]) -> list[str]:
        bulk = (self.folder / "schemas" / "_core.bulk.yaml").resolve().as_uri()
        problems: list[str] = []
        i = 0
        while i < len(lines):
            action = lines[i]
            problems += [f"line {i + 1} (action): {e}" for e in self._schema_errors(
                f"{bulk}#/components/schemas/OperationContainer", action)]
            kind = next(iter(action), None) if isinstance(action, dict) else None
            if kind in ("index", "create", "update"):
                if i + 1 >= len(lines):
                    problems.append(f"line {i + 1}: a {kind!r} action without its document line")
                    break
                if kind == "update":
                    problems += [f"line {i + 2} (update): {e}" for e in self._schema_errors(
                        f"{bulk}#/components/schemas/UpdateAction", lines[i + 1])]
                i += 2
            else:
                i += 1
        return problems


@cache
def load_spec() -> Spec | None:
    folder = spec_dir()
    return Spec(folder) if folder is not None else None

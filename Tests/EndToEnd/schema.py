"""Validation of messages against protocol/saddle.schema.json."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import jsonschema
from referencing import Registry, Resource

PROTOCOL = Path(__file__).resolve().parents[2] / "protocol"
SCHEMA_PATH = PROTOCOL / "saddle.schema.json"


def load_document() -> dict:
    """saddle.schema.json merged with every protocol/schema/<family>.schema.json (methods,
    notifications and $defs), so that `#/$defs/...` references resolve across files."""
    document = json.loads(SCHEMA_PATH.read_text())
    for family in sorted((PROTOCOL / "schema").glob("*.schema.json")):
        part = json.loads(family.read_text())
        for section in ("$defs", "methods", "notifications"):
            for name, value in part.get(section, {}).items():
                if name in document.setdefault(section, {}):
                    raise ValueError(f"{family.name} redefines {section}/{name}")
                document[section][name] = value
    return document


class ProtocolSchema:
    def __init__(self) -> None:
        self.document = load_document()
        self.uri = self.document["$id"]
        self.registry = Registry().with_resource(self.uri, Resource.from_contents(self.document))
        self.checked = 0

    def _validate(self, instance: Any, pointer: str) -> None:
        schema = {"$ref": f"{self.uri}#{pointer}"}
        jsonschema.Draft202012Validator(schema, registry=self.registry).validate(instance)
        self.checked += 1

    @staticmethod
    def escape(name: str) -> str:
        return name.replace("~", "~0").replace("/", "~1")

    def validate(self, direction: str, message: dict, method: Optional[str]) -> None:
        """Validates the envelope, then params (requests, notifications) or result (responses)."""
        self._validate(message, "/$defs/message")
        if "method" in message:
            method = message["method"]
            section = "notifications" if "id" not in message else "methods"
            entry = self.document[section].get(method)
            if entry is None and section == "notifications" and method in self.document["methods"]:
                entry = None
            if entry is None:
                if direction == "received":
                    raise AssertionError(f"saddled sent {method!r}, which protocol/saddle.schema.json does not describe")
                return  # Tests send unknown methods on purpose.
            if "params" in message:
                self._validate(message["params"], f"/{section}/{self.escape(method)}/params")
        elif method is not None and "result" in message:
            if method not in self.document["methods"]:
                raise AssertionError(f"no schema for the result of {method!r}")
            self._validate(message["result"], f"/methods/{self.escape(method)}/result")

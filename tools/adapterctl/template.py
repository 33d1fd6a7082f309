"""Reads template.yaml, so the local stack builds its queues and table from the deployed definitions.

Only what the local stack needs is resolved: parameter defaults, `Ref`, `Fn::GetAtt` of resources
created earlier, `Fn::Sub` with those. Anything else is an error, not a silent guess.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    pass


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    if suffix == "Condition":
        return {"Condition": value}
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path = TEMPLATE_PATH) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass


class Resolver:
    """Resolves intrinsic functions against parameter values and already-created resources."""

    def __init__(self, template: dict, parameters: dict[str, Any] | None = None, *, stack_name: str = "local"):
        self.template = template
        self.values: dict[str, Any] = {
            name: spec.get("Default") for name, spec in template.get("Parameters", {}).items()
        }
        self.values.update(parameters or {})
        self.values.update({"AWS::StackName": stack_name, "AWS::Region": "us-east-1", "AWS::Partition": "aws", "AWS::AccountId": "123456789012", "AWS::URLSuffix": "amazonaws.com"})
        self.attributes: dict[tuple[str, str], Any] = {}

    def resource(self, name: str) -> dict:
        return self.template["Resources"][name]

    def set_resource(self, name: str, ref: Any, **attributes: Any) -> None:
        self.values[name] = ref
        for attribute, value in attributes.items():
            self.attributes[(name, attribute)] = value

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            return self._lookup(value["Ref"])
        if set(value) == {"Fn::GetAtt"}:
            name, attribute = value["Fn::GetAtt"]
            return self.attributes[(name, attribute)]
        if set(value) == {"Fn::Sub"}:
            text, extra = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
            extra = {key: self.resolve(item) for key, item in extra.items()}
            return re.sub(r"\$\{([^}]+)\}", lambda m: str(extra.get(m.group(1), None) or self._sub(m.group(1))), text)
        if any(key.startswith("Fn::") for key in value):
            raise ValueError(f"the local stack does not resolve {sorted(value)}")
        return {key: self.resolve(item) for key, item in value.items()}

    def _sub(self, name: str) -> Any:
        if "." in name:
            resource, attribute = name.split(".", 1)
            return self.attributes[(resource, attribute)]
        return self._lookup(name)

    def _lookup(self, name: str) -> Any:
        if name not in self.values:
            raise KeyError(f"{name} is not a parameter or a resource the local stack created")
        return self.values[name]

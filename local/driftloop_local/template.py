"""Reading template.yaml: CloudFormation short tags, conditions and intrinsic functions.

The local stack builds itself from the same template ``sam deploy`` uses, so there is one wiring.
Supported intrinsics: Ref, Fn::GetAtt, Fn::Sub (both forms), Fn::If, Fn::Join, Fn::Select,
Fn::Split, Fn::Equals/And/Or/Not (in Conditions), Fn::FindInMap, Fn::GetAZs and the pseudo parameters.
Anything else raises ``TemplateError`` rather than being passed through unresolved.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

NO_VALUE = object()
"""Marker for ``AWS::NoValue``: the enclosing property is dropped."""


class TemplateError(ValueError):
    """The template uses something the local stack cannot resolve."""


class _CfnLoader(yaml.SafeLoader):  # type: ignore[misc]
    pass


def _tag_constructor(tag: str) -> Callable[[yaml.SafeLoader, yaml.Node], Any]:
    name = "Ref" if tag == "Ref" else f"Fn::{tag}"

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    return construct


for _tag in (
    "Ref", "GetAtt", "Sub", "If", "Join", "Select", "Split", "Equals", "And", "Or", "Not",
    "FindInMap", "GetAZs", "Base64", "Condition", "ImportValue", "Cidr", "Transform",
):  # fmt: skip
    _CfnLoader.add_constructor(f"!{_tag}", _tag_constructor(_tag))


def load_template(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        document = yaml.load(handle, Loader=_CfnLoader)
    if not isinstance(document, dict) or "Resources" not in document:
        raise TemplateError(f"{path} is not a CloudFormation template")
    return document


@dataclass
class Context:
    """Everything intrinsics resolve against."""

    parameters: Mapping[str, Any]
    pseudo: Mapping[str, str]
    conditions: dict[str, bool] = field(default_factory=dict)
    refs: Mapping[str, Any] = field(default_factory=dict)
    attributes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


_SUB_PATTERN = re.compile(r"\$\{([^}!][^}]*)\}")


class Resolver:
    def __init__(self, template: Mapping[str, Any], context: Context) -> None:
        self.template = template
        self.context = context

    def evaluate_conditions(self) -> dict[str, bool]:
        raw = self.template.get("Conditions", {})
        results: dict[str, bool] = {}

        def evaluate(name: str) -> bool:
            if name not in results:
                if name not in raw:
                    raise TemplateError(f"unknown condition {name}")
                results[name] = bool(self._condition(raw[name], evaluate))
            return results[name]

        for name in raw:
            evaluate(name)
        self.context.conditions = results
        return results

    def _condition(self, node: Any, evaluate: Callable[[str], bool]) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            ((key, value),) = node.items()
            if key == "Fn::Equals":
                left, right = (self.resolve(v) for v in value)
                return str(left) == str(right)
            if key == "Fn::And":
                return all(self._condition(v, evaluate) for v in value)
            if key == "Fn::Or":
                return any(self._condition(v, evaluate) for v in value)
            if key == "Fn::Not":
                return not self._condition(value[0], evaluate)
            if key in ("Condition", "Fn::Condition"):
                return evaluate(value)
        return self.resolve(node)

    def resolve(self, node: Any) -> Any:  # noqa: C901 - one branch per intrinsic
        if isinstance(node, list):
            return [item for item in (self.resolve(v) for v in node) if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, value),) = node.items()
            if key == "Ref":
                return self._ref(value)
            if key == "Fn::GetAtt":
                logical_id, attribute = value if isinstance(value, list) else value.split(".", 1)
                return self._get_att(logical_id, self.resolve(attribute))
            if key == "Fn::Sub":
                return self._sub(value)
            if key == "Fn::If":
                name, if_true, if_false = value
                return self.resolve(if_true if self.context.conditions[name] else if_false)
            if key == "Fn::Join":
                separator, items = value
                return separator.join(str(v) for v in self.resolve(items))
            if key == "Fn::Select":
                index, items = value
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                separator, text = value
                return str(self.resolve(text)).split(separator)
            if key == "Fn::FindInMap":
                map_name, top, second = (self.resolve(v) for v in value)
                return self.template["Mappings"][map_name][top][second]
            if key == "Fn::Base64":
                return base64.b64encode(str(self.resolve(value)).encode()).decode()
            if key == "Fn::GetAZs":
                region = self.context.pseudo["AWS::Region"]
                return [f"{region}a", f"{region}b", f"{region}c"]
            if key.startswith("Fn::"):
                raise TemplateError(f"intrinsic {key} is not supported by the local stack")
        resolved = {k: self.resolve(v) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.context.pseudo:
            return self.context.pseudo[name]
        if name in self.context.parameters:
            return self.context.parameters[name]
        if name in self.context.refs:
            return self.context.refs[name]
        raise TemplateError(f"Ref to unknown or uncreated {name}")

    def _get_att(self, logical_id: str, attribute: str) -> Any:
        try:
            return self.context.attributes[logical_id][attribute]
        except KeyError:
            raise TemplateError(f"GetAtt {logical_id}.{attribute} is not known to the local stack") from None

    def _sub(self, value: Any) -> str:
        if isinstance(value, list):
            text, variables = value[0], {k: self.resolve(v) for k, v in value[1].items()}
        else:
            text, variables = value, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and name.split(".", 1)[0] in self.context.attributes:
                logical_id, attribute = name.split(".", 1)
                return str(self._get_att(logical_id, attribute))
            return str(self._ref(name))

        return _SUB_PATTERN.sub(replace, text).replace("${!", "${")


def parameter_values(template: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, Any]:
    """Template defaults overlaid with overrides, validated against AllowedValues."""
    values: dict[str, Any] = {}
    for name, spec in template.get("Parameters", {}).items():
        if name in overrides:
            value: Any = overrides[name]
        elif "Default" in spec:
            value = spec["Default"]
        else:
            raise TemplateError(f"parameter {name} has no default and no override")
        allowed = spec.get("AllowedValues")
        if allowed is not None and str(value) not in {str(a) for a in allowed}:
            raise TemplateError(f"parameter {name}={value!r} is not one of {allowed}")
        kind = spec.get("Type")
        if kind == "CommaDelimitedList":
            values[name] = (
                value if isinstance(value, list) else [item.strip() for item in str(value).split(",")]
            )
        else:
            values[name] = str(value) if kind == "String" else value
    unknown = set(overrides) - set(values)
    if unknown:
        raise TemplateError(f"overrides for unknown parameters: {sorted(unknown)}")
    return values

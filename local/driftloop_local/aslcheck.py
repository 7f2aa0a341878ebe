"""Static checks of statemachines/*.asl.json, which ``sam validate --lint`` does not open.

Each definition must be JSON, every state reachable and every transition defined, every Task must
have Retry and Catch, and every ``${Placeholder}`` must be supplied by the template's
DefinitionSubstitutions for that file (and every substitution used).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from driftloop_local.template import load_template

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def _check_states(states: dict[str, Any], start: str, where: str) -> list[str]:
    problems = []
    if start not in states:
        problems.append(f"{where}: StartAt {start} is not a state")
    reachable, frontier = set(), [start]
    while frontier:
        name = frontier.pop()
        if name in reachable or name not in states:
            continue
        reachable.add(name)
        state = states[name]
        targets = [state.get("Next"), state.get("Default")]
        targets += [choice.get("Next") for choice in state.get("Choices", [])]
        targets += [catch.get("Next") for catch in state.get("Catch", [])]
        for target in filter(None, targets):
            if target not in states:
                problems.append(f"{where}.{name}: transition to undefined state {target}")
            frontier.append(target)
        if state["Type"] == "Task":
            for field in ("Retry", "Catch"):
                if not state.get(field):
                    problems.append(f"{where}.{name}: Task without {field}")
        if state["Type"] == "Map":
            processor = state.get("ItemProcessor") or state.get("Iterator", {})
            problems += _check_states(
                processor.get("States", {}), processor.get("StartAt", ""), f"{where}.{name}"
            )
        if state["Type"] == "Parallel":
            for index, branch in enumerate(state.get("Branches", [])):
                problems += _check_states(branch["States"], branch["StartAt"], f"{where}.{name}[{index}]")
    problems += [f"{where}.{name}: unreachable" for name in states if name not in reachable]
    return problems


def check(root: Path) -> list[str]:
    template = load_template(root / "template.yaml")
    substitutions: dict[str, set[str]] = {}
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::StateMachine":
            props = resource["Properties"]
            if "DefinitionUri" not in props:
                continue
            substitutions[str(Path(props["DefinitionUri"]))] = set(props.get("DefinitionSubstitutions", {}))
    problems = []
    for path in sorted((root / "statemachines").glob("*.asl.json")):
        relative = str(path.relative_to(root))
        text = path.read_text()
        try:
            definition = json.loads(text)
        except json.JSONDecodeError as error:
            problems.append(f"{relative}: not JSON ({error})")
            continue
        if relative not in substitutions:
            problems.append(f"{relative}: no AWS::Serverless::StateMachine uses it")
            continue
        used = set(_PLACEHOLDER.findall(text))
        problems += [
            f"{relative}: ${{{name}}} has no DefinitionSubstitution"
            for name in sorted(used - substitutions[relative])
        ]
        problems += [
            f"{relative}: substitution {name} is never used"
            for name in sorted(substitutions[relative] - used)
        ]
        problems += _check_states(definition.get("States", {}), definition.get("StartAt", ""), relative)
    return problems

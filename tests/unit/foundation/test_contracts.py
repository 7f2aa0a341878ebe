from __future__ import annotations

import json
from pathlib import Path

import pytest

from driftloop.contracts import CONTRACTS, ContractError, DriftDetected, export_json_schemas, parse_detail

EVENTS = Path(__file__).resolve().parents[3] / "events" / "platform"


@pytest.mark.parametrize(("detail_type", "version"), sorted(CONTRACTS))
def test_every_contract_has_a_sample_that_validates(detail_type: str, version: int, load_event) -> None:
    sample = load_event(f"platform/{detail_type}.json")
    assert sample["detail-type"] == detail_type
    event = parse_detail(detail_type, sample["detail"])
    assert event.schema_version == version
    assert json.loads(event.detail_json())["schema_version"] == version


def test_every_sample_has_a_contract() -> None:
    names = {path.stem for path in EVENTS.glob("*.json")}
    assert names == {detail_type for detail_type, _ in CONTRACTS}


def test_an_invalid_detail_is_refused_with_the_field(load_event) -> None:
    detail = load_event("platform/DriftDetected.json")["detail"]
    detail["drifted_features"] = []
    with pytest.raises(ContractError, match="drifted_features"):
        parse_detail("DriftDetected", detail)


def test_unknown_fields_and_versions_are_refused(load_event) -> None:
    detail = load_event("platform/ModelDeployed.json")["detail"]
    with pytest.raises(ContractError, match="extra"):
        parse_detail("ModelDeployed", {**detail, "surprise": 1})
    with pytest.raises(ContractError, match="v2"):
        parse_detail("ModelDeployed", {**detail, "schema_version": 2})
    with pytest.raises(ContractError, match="no contract"):
        parse_detail("NotAnEvent", detail)


def test_json_schemas_are_exported_per_contract(tmp_path: Path) -> None:
    written = export_json_schemas(tmp_path)
    assert len(written) == len(CONTRACTS)
    schema = json.loads((tmp_path / "DriftDetected.v1.schema.json").read_text())
    assert schema["title"] == DriftDetected.__name__
    assert "drifted_features" in schema["required"]

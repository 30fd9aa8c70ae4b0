"""The generated Argo Rollouts and Flagger files are valid against the controllers' published CRD schemas.

The schemas (tests/data/crds/, with their sources) are made strict first: an object schema with properties
and no ``additionalProperties`` rejects unknown fields, as ``kubectl apply --validate=strict`` does, so a
misspelt field fails here instead of being silently dropped by the API server.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from slokit import pipeline
from slokit.rollouts import paths
from slokit.spec import load_or_raise

ROOT = Path(__file__).resolve().parent.parent
CRDS = ROOT / "tests" / "data" / "crds"
SPECS = [ROOT / "slo" / "onboarding.yaml", ROOT / "tests" / "data" / "rollout-spec.yaml"]


def strict(schema: Any) -> Any:
    """A copy of ``schema`` where objects with known properties reject any other key."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) for k, v in schema.items()}
    if ("properties" in out and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


def validator(name: str) -> jsonschema.Draft7Validator:
    schema = strict(yaml.safe_load((CRDS / name).read_text()))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def _files(spec: Path) -> dict[str, str]:
    (service,) = load_or_raise([spec])
    files = pipeline.generate([service])
    return {kind: files[path] for kind, path in paths(service).items()}


def _errors(v: jsonschema.Draft7Validator, doc: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in v.iter_errors(doc)]


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.name)
def test_argo_files_match_the_crds(spec: Path) -> None:
    files = _files(spec)
    template = yaml.safe_load(files["argo"])
    assert (template["apiVersion"], template["kind"]) == ("argoproj.io/v1alpha1", "AnalysisTemplate")
    assert _errors(validator("argo-analysistemplate.schema.yaml"), template) == []
    strategy = yaml.safe_load(files["argo-strategy"])["strategy"]
    assert _errors(validator("argo-rollout-strategy.schema.yaml"), strategy) == []
    names = {m["name"] for m in template["spec"]["metrics"]}
    assert strategy["canary"]["analysis"]["templates"] == [{"templateName": template["metadata"]["name"]}]
    assert len(names) == len(template["spec"]["metrics"]), "metric names are unique"


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.name)
def test_flagger_files_match_the_crds(spec: Path) -> None:
    files = _files(spec)
    templates = [d for d in yaml.safe_load_all(files["flagger"]) if d]
    v = validator("flagger-metrictemplate.schema.yaml")
    for t in templates:
        assert (t["apiVersion"], t["kind"]) == ("flagger.app/v1beta1", "MetricTemplate")
        assert _errors(v, t) == []
    analysis = yaml.safe_load(files["flagger-analysis"])["analysis"]
    assert _errors(validator("flagger-canary-analysis.schema.yaml"), analysis) == []
    assert {m["templateRef"]["name"] for m in analysis["metrics"]} == {t["metadata"]["name"] for t in templates}


def test_the_strict_schemas_reject_unknown_and_mistyped_fields() -> None:
    (service,) = load_or_raise([SPECS[0]])
    good = yaml.safe_load(pipeline.generate([service])[paths(service)["argo-strategy"]])["strategy"]
    v = validator("argo-rollout-strategy.schema.yaml")
    typo = copy.deepcopy(good)
    typo["canary"]["steps"][0] = {"setWieght": 5}
    assert _errors(v, typo), "a misspelt step is rejected"
    wrong = copy.deepcopy(good)
    wrong["canary"]["steps"][0] = {"setWeight": "5%"}
    assert _errors(v, wrong), "a weight must be an integer"
    analysis = {"interval": "1h", "threshold": 3, "stepWeights": [5]}
    assert _errors(validator("flagger-canary-analysis.schema.yaml"), analysis), "Flagger intervals are m or s"


def test_stage_durations_become_pauses() -> None:
    (service,) = load_or_raise([SPECS[0]])
    strategy = yaml.safe_load(pipeline.generate([service])[paths(service)["argo-strategy"]])["strategy"]
    assert strategy["canary"]["steps"] == [
        {"setWeight": 0}, {"pause": {"duration": "24h"}}, {"setWeight": 5}, {"pause": {"duration": "48h"}},
        {"setWeight": 25}, {"pause": {"duration": "72h"}}, {"setWeight": 50}, {"pause": {"duration": "168h"}},
    ]
    analysis = yaml.safe_load(pipeline.generate([service])[paths(service)["flagger-analysis"]])["analysis"]
    assert analysis["stepWeights"] == [5, 25, 50]
    assert analysis["threshold"] == 11  # the 10m triggers fire at the 11th one-minute evaluation

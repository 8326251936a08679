"""CloudFormation templates as people write them: several dataset resources, intrinsic
functions in the other resources, parameters, and datasets without a DatasetName."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from iota_container.definitions.model import (
    load_definition,
    load_definitions,
    read_definitions,
    registration_paths,
)
from iota_container.definitions.problems import DefinitionError
from iota_container.definitions.validate import validate_files

TEMPLATES = Path(__file__).resolve().parent.parent / "fixtures" / "datasets" / "cloudformation"
PLANT = TEMPLATES / "plant_report.template.yaml"
COMPLEX = TEMPLATES / "complex_container.template.json"


def test_the_documentations_complex_container_example_holds_two_datasets() -> None:
    readings, report = load_definitions(COMPLEX)
    assert (readings.dataset_name, report.dataset_name) == (
        "TriggeringDataset",
        "ComplexContainerDataset",
    )
    assert report.triggering_datasets == ("TriggeringDataset",)
    assert report.origin is not None and report.origin.resource == "ContainerDataset"
    assert report.origin.root == "$.Resources.ContainerDataset.Properties"


def test_it_validates_with_a_warning_for_the_dataset_outside_it() -> None:
    problems = validate_files([COMPLEX])
    assert [(p.severity, str(p)) for p in problems] == [
        (
            "warning",
            f"{COMPLEX}: $.Resources.ContainerDataset.Properties.Actions[0].ContainerAction"
            ".Variables[2].DatasetContentVersionValue.DatasetName: dataset 'BasicDataset' is "
            "not defined in these files: fine if the account holds it; else add its "
            "definition, or fix the name",
        )
    ]
    assert validate_files([COMPLEX, TEMPLATES / "basic_dataset.json"]) == []


def test_functions_in_other_resources_do_not_matter_and_the_datasets_resolve() -> None:
    readings, report = load_definitions(PLANT)
    action = report.container_action
    assert action is not None
    assert report.dataset_name == "PlantReport"  # no DatasetName: the logical ID
    assert action.image.startswith("123456789012.dkr.ecr.eu-west-1.amazonaws.com/plant-report@")
    assert action.resource_configuration.volume_size_in_gb == 4  # a Number parameter's Default
    assert action.execution_role_arn == "arn:aws:iam::123456789012:role/${Literal}-report"
    contents = [v.dataset_content_version_value for v in action.variables]
    assert [c.dataset_name for c in contents if c] == ["plant_readings", "archived_readings"]
    assert report.triggering_datasets == ("plant_readings",)  # Ref of a dataset: its name
    assert readings.retention_period is not None
    assert readings.retention_period.number_of_days == 2147483647  # the schema's maximum
    assert [p.rule for p in validate_files([PLANT])] == [
        "variables.identifier",
        "datasetContentVersionValue.defined",
    ]


def _rewrite(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / PLANT.name
    text = PLANT.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return path


@pytest.mark.parametrize(
    ("old", "new", "path", "function"),
    [
        (
            "Image: !Ref ReportImage",
            "Image: !GetAtt Repository.RepositoryUri",
            "Actions[0].ContainerAction.Image",
            'Fn::GetAtt ["Repository", "RepositoryUri"]',
        ),
        (
            "Image: !Ref ReportImage",
            "Image: !Sub '${AWS::AccountId}.dkr.ecr.eu-west-1.amazonaws.com/report:1'",
            "Actions[0].ContainerAction.Image",
            "Fn::Sub '${AWS::AccountId}.dkr.ecr.eu-west-1.amazonaws.com/report:1'",
        ),
        (
            "StringValue: plant-7",
            "StringValue: !Ref Stage",  # a parameter without a Default
            "Actions[0].ContainerAction.Variables[0].StringValue",
            "Ref 'Stage'",
        ),
    ],
)
def test_an_unresolved_function_is_named_where_a_dataset_uses_it(
    tmp_path: Path, old: str, new: str, path: str, function: str
) -> None:
    loaded = read_definitions(_rewrite(tmp_path, old, new))
    assert [d.dataset_name for d in loaded.definitions] == ["plant_readings"]
    (problem,) = loaded.problems
    assert problem.json_path == f"$.Resources.PlantReport.Properties.{path}"
    assert problem.message == f"CloudFormation function {function} cannot be resolved here"
    assert problem.rule == "unresolved-function"


def test_one_resource_of_a_template_is_chosen_with_its_logical_id(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError) as raised:
        load_definition(COMPLEX)
    assert str(raised.value) == (
        f"{COMPLEX}: $.Resources: the template has 2 AWS::IoTAnalytics::Dataset resources, "
        f"not 1: give one of them ({COMPLEX}#TriggeringDataset, {COMPLEX}#ContainerDataset), "
        "or the whole file to `dataset validate` or `register`"
    )
    chosen = load_definition(f"{COMPLEX}#ContainerDataset")
    assert chosen.dataset_name == "ComplexContainerDataset"
    with pytest.raises(DefinitionError, match="has no AWS::IoTAnalytics::Dataset resource 'Nope'"):
        load_definition(f"{COMPLEX}#Nope")
    assert registration_paths(COMPLEX) == [
        f"{COMPLEX}#TriggeringDataset",
        f"{COMPLEX}#ContainerDataset",
    ]
    assert registration_paths(TEMPLATES / "basic_dataset.json") == [
        str(TEMPLATES / "basic_dataset.json")
    ]
    # A file whose own name has a '#' is read as that file.
    odd = tmp_path / "odd#Name.json"
    shutil.copy(TEMPLATES / "basic_dataset.json", odd)
    assert load_definition(odd).dataset_name == "BasicDataset"


def test_one_wrong_resource_leaves_the_others_readable(tmp_path: Path) -> None:
    template = json.loads(COMPLEX.read_text())
    template["Resources"]["TriggeringDataset"]["Properties"]["Actions"][0]["QueryAction"] = 5
    path = tmp_path / "t.json"
    path.write_text(json.dumps(template))
    problems = validate_files([path])
    assert [p.json_path for p in problems if p.is_error] == [
        "$.Resources.TriggeringDataset.Properties.Actions[0].QueryAction"
    ]
    # The other dataset still loads, and is not told its trigger is undefined: the
    # triggering dataset's resource names it even though it did not load.
    loaded = read_definitions(path)
    assert [d.dataset_name for d in loaded.definitions] == ["ComplexContainerDataset"]
    assert not any(p.rule == "trigger.defined" for p in problems)

"""`dataset new` and `dataset validate` from the command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.notebooks import write_notebook
from tests.support import FIXTURES, run_cli

pytestmark = pytest.mark.integration


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    return write_notebook(
        tmp_path / "nb" / "report.ipynb",
        "window = 60  # minutes\nflag = False\nreport_output = 's3://b/k.csv'\nname = 'x'",
    )


def test_new_from_notebook_writes_a_valid_definition(tmp_path: Path, notebook: Path) -> None:
    result = run_cli(
        "dataset",
        "new",
        "hourly_report",
        "--from-notebook",
        str(notebook),
        "--schedule",
        "rate(1 hour)",
        "--max-versions",
        "5",
        "-o",
        "defs/hourly.yaml",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    document = yaml.safe_load((tmp_path / "defs" / "hourly.yaml").read_text())
    action = document["actions"][0]["containerAction"]
    assert action["x-iota-notebook"] == "../nb/report.ipynb"
    assert action["variables"] == [
        {"name": "window", "doubleValue": 60.0},
        {"name": "flag", "stringValue": "false"},
        {"name": "report_output", "outputFileUriValue": {"fileName": "report_output.csv"}},
        {"name": "name", "stringValue": "x"},
    ]
    assert document["triggers"] == [{"schedule": {"expression": "rate(1 hour)"}}]
    assert document["versioningConfiguration"] == {"maxVersions": 5}
    valid = run_cli("dataset", "validate", "defs/hourly.yaml", "--json", cwd=tmp_path)
    assert valid.returncode == 0, valid.stderr
    assert json.loads(valid.stdout)["valid"] is True


def test_new_refuses_a_bad_schedule_and_writes_nothing(tmp_path: Path, notebook: Path) -> None:
    result = run_cli(
        "dataset",
        "new",
        "daily",
        "--from-notebook",
        str(notebook),
        "--schedule",
        "cron(0 12 * * 1 *)",
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "day-of-month and day-of-week are both set" in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "daily.yaml").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bad-name!"], "datasetName"),
        (["ok", "--schedule", "rate(1 hour)", "--triggered-by", "other"], "not both"),
        (["ok", "-o", "ok.txt"], "end the name in .yaml, .yml or .json"),
    ],
)
def test_new_bad_input(tmp_path: Path, notebook: Path, args: list[str], message: str) -> None:
    result = run_cli(
        "dataset", "new", *args[:1], "--from-notebook", str(notebook), *args[1:], cwd=tmp_path
    )
    assert result.returncode == 2, result.stderr
    assert message in result.stderr, result.stderr


def test_new_needs_exactly_one_source(tmp_path: Path) -> None:
    result = run_cli("dataset", "new", "x", cwd=tmp_path)
    assert (
        result.returncode == 2
        and "exactly one of --from-image and --from-notebook" in result.stderr
    )


def test_validate_reports_every_problem_with_file_and_path(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "datasets", tmp_path / "defs")
    (tmp_path / "defs" / "broken.json").write_text(
        json.dumps(
            {
                "datasetName": "broken",
                "actions": [
                    {
                        "actionName": "a",
                        "containerAction": {
                            "image": "img",
                            "executionRoleArn": "arn:aws:iam::123456789012:role/r",
                            "resourceConfiguration": {"computeType": "ACU_3", "volumeSizeInGB": 60},
                        },
                    }
                ],
                "triggers": [{"dataset": {"name": "broken"}}],
            }
        )
    )
    result = run_cli("dataset", "validate", "defs", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert all(line.startswith("defs/broken.json: $.") for line in lines), lines
    text = "\n".join(lines)
    assert "volumeSizeInGB" in text and "computeType" in text and "broken" in text


TEMPLATES = FIXTURES / "datasets" / "cloudformation"


def test_validate_warns_of_what_the_account_may_hold_and_passes(tmp_path: Path) -> None:
    template = TEMPLATES / "complex_container.template.json"
    result = run_cli("dataset", "validate", str(template))
    assert result.returncode == 0, result.stderr
    (warning,) = result.stderr.strip().splitlines()
    assert warning.startswith(f"warning: {template}: $.Resources.ContainerDataset.Properties.")
    assert "dataset 'BasicDataset' is not defined in these files" in warning
    assert result.stdout.strip() == "1 definition file(s) valid, 1 warning"
    as_json = json.loads(run_cli("dataset", "validate", str(template), "--json").stdout)
    assert as_json["valid"] is True
    assert [p["severity"] for p in as_json["problems"]] == ["warning"]


def test_register_takes_every_dataset_of_a_template(tmp_path: Path) -> None:
    home = ("--home", str(tmp_path / "home"))
    empty = run_cli("dataset", "list", *home)
    assert empty.returncode == 0 and empty.stdout == ""
    assert empty.stderr.strip() == (
        "no datasets are registered: register a definition with "
        "`iota-container dataset register FILE` (write one with `dataset new`)"
    )
    template = TEMPLATES / "complex_container.template.json"
    # The dataset the template reads is not registered yet: a warning (the account may
    # hold it), not a refusal; a run here would need it.
    first = run_cli("dataset", "register", str(template), *home)
    assert first.returncode == 0, first.stderr
    assert "dataset 'BasicDataset' is not defined" in first.stderr
    basic = TEMPLATES / "basic_dataset.json"
    registered = run_cli("dataset", "register", str(basic), str(template), *home)
    assert registered.returncode == 0, registered.stderr
    assert "not defined" not in registered.stderr
    assert registered.stdout.splitlines() == [
        f"registered BasicDataset ({basic})",
        f"registered TriggeringDataset ({template}#TriggeringDataset)",
        f"registered ComplexContainerDataset ({template}#ContainerDataset)",
    ]
    listed = run_cli("dataset", "list", *home).stdout.splitlines()
    assert [line.split()[0] for line in listed] == [
        "BasicDataset",
        "ComplexContainerDataset",
        "TriggeringDataset",
    ]
    exported = json.loads(run_cli("dataset", "export", "ComplexContainerDataset", *home).stdout)
    assert exported["triggers"] == [{"dataset": {"name": "TriggeringDataset"}}]


def test_register_warns_of_a_variable_that_is_not_injected(tmp_path: Path) -> None:
    document = {
        "datasetName": "report",
        "actions": [
            {
                "containerAction": {
                    "image": "iota-container/report:latest",
                    "executionRoleArn": "arn:aws:iam::123456789012:role/report",
                    "resourceConfiguration": {"computeType": "ACU_1", "volumeSizeInGB": 1},
                    "variables": [{"name": "max-alerts", "doubleValue": 3}],
                }
            }
        ],
    }
    path = tmp_path / "report.json"
    path.write_text(json.dumps(document))
    result = run_cli("dataset", "register", str(path), "--home", str(tmp_path / "home"))
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(f"warning: {path}: $.actions[0].containerAction.variables")
    assert "'max-alerts' is not a Python name" in result.stderr


def test_a_cron_expression_that_never_fires_is_refused(tmp_path: Path, notebook: Path) -> None:
    result = run_cli(
        "dataset", "new", "leap", "--from-notebook", str(notebook), "--schedule",
        "cron(0 0 30 2 ? *)", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    assert "can never fire: no day in February of any year is day 30" in result.stderr
    assert not (tmp_path / "leap.yaml").exists()

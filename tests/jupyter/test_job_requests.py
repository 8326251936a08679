"""POST jobs: every missing or invalid field answers 400 naming the field, before
anything is queued."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tests.notebooks import write_notebook

GOOD: dict[str, Any] = {
    "notebook": "nb.ipynb",
    "name": "temp-daily",
    "description": "",
    "variables": [
        {"name": "rows", "type": "int", "default": 3, "datasetType": "double"},
        # As the wizard sends a row: the default as edited text, decoded by its type.
        {"name": "label", "type": "list", "defaultText": '["x"]', "datasetType": "string"},
    ],
    "image": {"repository": "localhost:5000/team/temp:v1", "backend": "oci"},
    "trigger": {"schedule": "rate(1 hour)"},
    "resourceConfiguration": {"computeType": "ACU_1", "volumeSizeInGB": 2},
}


def changed(path: str, value: Any) -> dict[str, Any]:
    """GOOD with `path` (dotted; a missing value deletes) set to `value`."""
    body = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    target: Any = body
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if value is KeyError:
        del target[int(last) if isinstance(target, list) else last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return body


CASES = [
    (changed("notebook", KeyError), "notebook"),
    (changed("notebook", 7), "notebook"),
    (changed("name", KeyError), "name"),
    (changed("name", "-starts-with-dash"), "name"),
    (changed("name", "has space"), "name"),
    (changed("name", "n" * 129), "name"),
    (changed("description", "d" * 1025), "description"),
    (changed("variables", "rows"), "variables"),
    (changed("variables.1", "label"), "variables.1"),
    (changed("variables.1.name", "not valid"), "variables.1.name"),
    (changed("variables.1.name", "rows"), "variables.1.name"),
    (changed("variables.0.datasetType", "float"), "variables.0.datasetType"),
    (changed("variables.1.defaultText", "x"), "variables.1.default"),  # not a JSON list
    (changed("variables.1.defaultText", 7), "variables.1.default"),
    (changed("variables.0.type", KeyError), "variables.0.type"),
    (changed("variables.0.default", "three"), "variables.0.default"),
    (changed("variables.0.name", KeyError), "variables.0"),
    (changed("image", KeyError), "image"),
    (changed("image.repository", KeyError), "image.repository"),
    (changed("image.repository", "Upper/Case"), "image.repository"),
    (changed("image.base", "no spaces allowed"), "image.base"),
    (changed("image.backend", "podman"), "image.backend"),
    (changed("image.createRepository", "yes"), "image.createRepository"),
    (changed("trigger.schedule", "cron(0 99 * * ? *)"), "trigger.schedule"),
    (changed("trigger.schedule", "every hour"), "trigger.schedule"),
    (changed("trigger", {"schedule": "rate(1 hour)", "dataset": "x"}), "trigger"),
    (changed("trigger", {"dataset": "bad-name"}), "trigger.dataset"),
    (changed("resourceConfiguration.computeType", "ACU_9"), "resourceConfiguration.computeType"),
    (changed("resourceConfiguration.volumeSizeInGB", 51), "resourceConfiguration.volumeSizeInGB"),
    (changed("resourceConfiguration.volumeSizeInGB", "2"), None),  # a numeric string is fine
    (changed("resourceConfiguration", 2), "resourceConfiguration"),
    (changed("definitionPath", "out.txt"), "definitionPath"),
    (changed("overwrite", "no"), "overwrite"),
]


@pytest.mark.parametrize(("body", "field"), CASES)
async def test_bad_fields(api, jp_root_dir: Path, body: dict[str, Any], field: str | None) -> None:
    write_notebook(jp_root_dir / "nb.ipynb", "rows = 3")
    status, answer = await api("POST", "jobs", body=body)
    if field is None:
        assert status == 202, answer
        await api("POST", "jobs", answer["id"], "cancel")
        return
    assert (status, answer["field"]) == (400, field), answer
    assert answer["message"]
    _, listed = await api("GET", "jobs")
    assert listed["jobs"] == []


async def test_body_that_is_not_json(api, jp_fetch) -> None:
    from tornado.httpclient import HTTPClientError

    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch("iota-container", "api", "jobs", method="POST", body="{not json")
    assert refused.value.code == 400


async def test_a_notebook_that_does_not_parse(api, jp_root_dir: Path) -> None:
    (jp_root_dir / "nb.ipynb").write_text("{}")
    status, answer = await api("POST", "jobs", body=changed("variables", KeyError))
    assert (status, answer["field"]) == (400, "notebook"), answer

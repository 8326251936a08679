from __future__ import annotations

import pytest

from iota_container.errors import VariableError
from iota_container.image.metadata import ImageMetadata, MetadataError
from iota_container.image.reference import ImageReferenceError, is_ecr_registry, parse_reference
from iota_container.variables import Variable, check_variables, variable_from_default

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("localhost:5000/team/analysis:v1", "localhost:5000", "team/analysis", "v1", None),
        ("127.0.0.1:5000/a", "127.0.0.1:5000", "a", "latest", None),
        ("ubuntu", "docker.io", "library/ubuntu", "latest", None),
        ("org/app:1.0", "docker.io", "org/app", "1.0", None),
        (f"reg.example.com/a/b@{DIGEST}", "reg.example.com", "a/b", None, DIGEST),
        (f"reg.example.com/a:t@{DIGEST}", "reg.example.com", "a", "t", DIGEST),
        ("r.io/a__b.c-d", "r.io", "a__b.c-d", "latest", None),
    ],
)
def test_valid_references(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (
        registry,
        repository,
        tag,
        digest,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("reg.io/Upper", "repository part 'Upper' is invalid"),
        ("reg.io/a:-tag", "invalid tag '-tag'"),
        ("reg.io/a@sha256:xyz", "malformed digest"),
        ("reg.io/a b", "empty or has spaces"),
        ("", "empty or has spaces"),
        ("reg.io/a..b", "repository part 'a..b' is invalid"),
        ("reg.io/" + "a" * 260, "longer than 255"),
        ("-bad.io:5000/a", "invalid registry '-bad.io:5000'"),
    ],
)
def test_invalid_references(text: str, message: str) -> None:
    with pytest.raises(ImageReferenceError, match=message):
        parse_reference(text)


def test_pinned_needs_a_digest() -> None:
    ref = parse_reference("r.io/a:v1")
    with pytest.raises(ImageReferenceError, match="has no digest"):
        ref.pinned()
    assert ref.with_digest(DIGEST).pinned() == f"r.io/a@{DIGEST}"


def test_ecr_registry_names() -> None:
    assert is_ecr_registry("123456789012.dkr.ecr.eu-west-1.amazonaws.com")
    assert is_ecr_registry("123456789012.dkr.ecr-fips.us-east-1.amazonaws.com")
    assert not is_ecr_registry("dkr.ecr.eu-west-1.amazonaws.com")
    assert not is_ecr_registry("localhost:5000")


def test_metadata_round_trips_through_labels() -> None:
    variables = [
        variable_from_default("threshold", 2.5, "limit"),
        variable_from_default("flag", False),
    ]
    metadata = ImageMetadata("/home/iota/analysis/a.ipynb", "python3", variables, "demo")
    labels = metadata.labels()
    assert labels["io.iota-container.notebook"] == "/home/iota/analysis/a.ipynb"
    assert ImageMetadata.from_labels(labels, "img") == metadata


def test_image_without_labels() -> None:
    with pytest.raises(MetadataError, match="not built by `iota-container build`"):
        ImageMetadata.from_labels({"other": "x"}, "r.io/a:v1")


def test_corrupt_variables_label() -> None:
    with pytest.raises(MetadataError, match="is not valid"):
        ImageMetadata.from_labels(
            {"io.iota-container.notebook": "/x.ipynb", "io.iota-container.variables": "{not json"},
            "img",
        )


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["ok", "ok"], "defined twice"),
        (["1abc"], "not a Python identifier"),
        (["class"], "not a Python identifier"),
    ],
)
def test_variable_names(names: list[str], message: str) -> None:
    with pytest.raises(VariableError, match=message):
        check_variables(Variable(name, "str") for name in names)

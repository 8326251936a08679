"""The requirements lock: one codec for labels, JSON and the API; pins sorted and unique;
a pip requirements file with hashes; a cache key of what it asks for. A lock read from an
image's label is checked, so that a hostile label cannot become pip options."""

from __future__ import annotations

import json
from typing import Any

import pytest

from iota_container.environment.lock import Lock, Pin

SHA = "0123456789abcdef" * 4


def resolved() -> Lock:
    return Lock(
        (
            Pin("pandas", "3.1.1", ("pandas",), (), SHA, "pandas-3.1.1-cp311-none.whl"),
            Pin("numpy", "2.4.6", (), ("pandas",), "f" * 64, "numpy-2.4.6-cp311-none.whl"),
            Pin("Python_Dateutil", "2.9.0.post0", (), ("pandas",)),
        ),
        ("seaborn>=0.13",),
        python_version="3.11",
    )


def test_json_and_label_round_trip_to_the_same_lock() -> None:
    lock = resolved()
    assert Lock.from_json(lock.to_json()) == lock
    assert Lock.from_json(json.loads(lock.to_label())) == lock
    assert "\n" not in lock.to_label() and ": " not in lock.to_label()


def test_the_json_shape_is_what_the_cli_and_the_api_read() -> None:
    document = resolved().to_json()
    assert document["format"] == 1
    assert document["python_version"] == "3.11"
    assert document["unresolved"] == ["seaborn>=0.13"]
    assert document["distributions"][0] == {
        "distribution": "numpy",
        "version": "2.4.6",
        "modules": [],
        "required_by": ["pandas"],
        "sha256": "f" * 64,
        "wheel": "numpy-2.4.6-cp311-none.whl",
    }
    unhashed = document["distributions"][2]
    assert unhashed == {
        "distribution": "Python_Dateutil",
        "version": "2.9.0.post0",
        "modules": [],
        "required_by": ["pandas"],
    }


def test_pins_are_sorted_by_normalized_name_whatever_order_they_come_in() -> None:
    lock = Lock((Pin("zeta", "1"), Pin("Alpha", "1"), Pin("beta_b", "1"), Pin("Beta-A", "1")))
    assert [p.name for p in lock.pins] == ["Alpha", "Beta-A", "beta_b", "zeta"]
    assert lock.pin("BETA.B") == Pin("beta_b", "1")
    assert lock.pin("missing") is None


@pytest.mark.parametrize("other", ["six", "Six", "SIX"])
def test_a_distribution_pinned_twice_is_refused(other: str) -> None:
    with pytest.raises(ValueError, match="pins six more than once"):
        Lock((Pin("six", "1.16.0"), Pin(other, "1.17.0")))


def test_the_same_name_spelled_differently_is_one_distribution() -> None:
    with pytest.raises(ValueError, match="pins python-dateutil more than once"):
        Lock((Pin("python-dateutil", "2.9"), Pin("Python_Dateutil", "2.8")))


def test_requirements_text_pins_with_hashes_then_the_unresolved() -> None:
    assert resolved().requirements_text() == (
        f"numpy==2.4.6 --hash=sha256:{'f' * 64}\n"
        f"pandas==3.1.1 --hash=sha256:{SHA}\n"
        "Python_Dateutil==2.9.0.post0\n"
        "seaborn>=0.13\n"
    )
    assert Lock().requirements_text() == ""


def test_request_key_is_stable_and_independent_of_hashes_wheels_and_order() -> None:
    lock = resolved()
    unhashed = Lock(
        tuple(Pin(p.name, p.version, p.modules, p.required_by) for p in reversed(lock.pins)),
        lock.unresolved,
    )
    assert lock.request_key() == unhashed.request_key()
    assert len(lock.request_key()) == 64
    assert lock.request_key() == resolved().request_key()
    assert lock.with_modules({"numpy": ["np_mod"]}).request_key() == lock.request_key()


@pytest.mark.parametrize(
    "changed",
    [
        Lock((Pin("six", "1.16.0"),)),
        Lock((Pin("six", "1.17.0"), Pin("tabulate", "0.9.0"))),
        Lock((Pin("six", "1.17.0"),), ("tabulate",)),
        Lock((), ("six>=1.17.0",)),
    ],
)
def test_request_key_changes_with_what_is_asked(changed: Lock) -> None:
    assert Lock((Pin("six", "1.17.0"),)).request_key() != changed.request_key()


def test_a_pin_and_the_same_requirement_unresolved_ask_pip_the_same() -> None:
    assert Lock((Pin("six", "1.17.0"),)).request_key() == Lock((), ("six==1.17.0",)).request_key()


def test_with_modules_records_modules_on_pins_by_key() -> None:
    lock = Lock((Pin("python-dateutil", "2.9"), Pin("six", "1.17.0", ("six",))))
    moved = lock.with_modules({"python-dateutil": ["dateutil"]})
    assert [p.modules for p in moved.pins] == [("dateutil",), ("six",)]


def test_empty_and_resolved() -> None:
    assert Lock().empty and not Lock().resolved
    assert not Lock(unresolved=("six",)).empty
    assert not Lock((Pin("six", "1"),)).resolved
    assert Lock((Pin("six", "1"),), python_version="3.11").resolved
    assert not Lock((Pin("six", "1"),), ("x",), python_version="3.11").resolved


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "a lock is a JSON object, not list"),
        ("six", "a lock is a JSON object, not str"),
        ({"format": 2}, "lock format 2 is not 1"),
        ({"distributions": "six"}, "distributions are not a list"),
        ({"distributions": {"six": "1"}}, "distributions are not a list"),
        ({"distributions": [1]}, "is not an object"),
        ({"distributions": [{"version": "1"}]}, "name None is not a name"),
        ({"distributions": [{"distribution": None, "version": "1"}]}, "is not a name"),
        ({"distributions": [{"distribution": "six"}]}, "six's version None is not a version"),
        ({"distributions": [{"distribution": "six", "version": 1}]}, "is not a version"),
        (
            {"distributions": [{"distribution": "six\n--index-url http://evil", "version": "1"}]},
            "is not a name",
        ),
        (
            {"distributions": [{"distribution": "six", "version": "1 --index-url=http://x"}]},
            "is not a version",
        ),
        ({"distributions": [{"distribution": "six", "version": "1", "sha256": "zz"}]}, "64 hex"),
        ({"distributions": [{"distribution": "six", "version": "1", "modules": "six"}]}, "list"),
        ({"unresolved": "six"}, "not a list of strings"),
        ({"unresolved": [1]}, "not a list of strings"),
        ({"unresolved": ["six\n-i http://evil/simple"]}, "line break"),
        (
            {"distributions": [{"distribution": n, "version": "1"} for n in ("six", "Six")]},
            "pins six more than once",
        ),
    ],
)
def test_a_lock_that_is_not_one_is_a_one_line_value_error(document: Any, message: str) -> None:
    with pytest.raises(ValueError) as error:
        Lock.from_json(document)
    assert message in str(error.value)
    assert "\n" not in str(error.value).replace("\\n", "")


def test_a_requirements_file_from_a_label_lock_holds_only_its_pins() -> None:
    lock = Lock.from_json(
        {"distributions": [{"distribution": "six", "version": "1.17.0", "sha256": SHA}]}
    )
    lines = lock.requirements_text().splitlines()
    assert lines == [f"six==1.17.0 --hash=sha256:{SHA}"]

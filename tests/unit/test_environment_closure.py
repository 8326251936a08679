"""Dependency closures with markers evaluated for the image's Python (not this one), extras
followed only where asked, and `pip check`'s verdict on a set of distributions."""

from __future__ import annotations

from packaging.markers import default_environment
from packaging.specifiers import SpecifierSet

from iota_container.environment.closure import (
    Dependency,
    closure,
    dependencies_of,
    inconsistencies,
    satisfies,
)
from iota_container.environment.python_env import (
    InstalledDistribution,
    Interpreter,
    PythonEnvironment,
)


def markers(python: str) -> dict[str, str]:
    """The marker environment of a Linux CPython `python` (3.N), whatever runs the tests."""
    return {
        **{k: str(v) for k, v in default_environment().items()},
        "python_version": python,
        "python_full_version": f"{python}.4",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "platform_machine": "x86_64",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }


def environment(*distributions: InstalledDistribution) -> PythonEnvironment:
    interpreter = Interpreter(*[""] * 13)
    return PythonEnvironment(
        interpreter, markers("3.11"), frozenset(), {d.key: d for d in distributions}
    )


D = InstalledDistribution
KERNEL = environment(
    D(
        "analysis-kit",
        "2.0",
        (
            "numpy>=1.25",
            'tomli>=1.1; python_version < "3.11"',
            'exceptiongroup>=1; python_version < "3.11"',
            'typing-extensions>=4.6; python_version < "3.12"',
            'pywin32; sys_platform == "win32"',
            'openpyxl>=3.1; extra == "excel"',
            'xlsx-fast; extra == "excel" and python_version >= "3.12"',
            'pytest; extra == "test"',
        ),
    ),
    D("numpy", "2.4.6"),
    D("tomli", "2.2.1"),
    D("exceptiongroup", "1.2.2"),
    D("typing_extensions", "4.12.2"),
    D("openpyxl", "3.1.5", ("et-xmlfile",)),
    D("et-xmlfile", "2.0.0"),
    D("Xlsx.Fast", "1.0"),
    D("pytest", "8.0"),
)


def root(name: str, extras: frozenset[str] = frozenset()) -> Dependency:
    return Dependency(name, None, SpecifierSet(), extras)


def test_markers_are_evaluated_for_the_image_python_not_this_one() -> None:
    on_310 = closure([root("analysis-kit")], KERNEL, markers("3.10"))
    on_312 = closure([root("analysis-kit")], KERNEL, markers("3.12"))
    assert sorted(on_310.needs) == [
        "analysis-kit", "exceptiongroup", "numpy", "tomli", "typing-extensions"
    ]  # fmt: skip
    assert sorted(on_312.needs) == ["analysis-kit", "numpy"]


def test_extras_are_followed_only_where_asked_and_with_their_own_markers() -> None:
    plain = closure([root("analysis-kit")], KERNEL, markers("3.12"))
    excel = closure([root("analysis-kit", frozenset({"excel"}))], KERNEL, markers("3.12"))
    excel_310 = closure([root("analysis-kit", frozenset({"excel"}))], KERNEL, markers("3.10"))
    assert "openpyxl" not in plain.needs and "pytest" not in plain.needs
    assert {"openpyxl", "et-xmlfile", "xlsx-fast"} <= set(excel.needs)
    assert "pytest" not in excel.needs
    assert "openpyxl" in excel_310.needs and "xlsx-fast" not in excel_310.needs


def test_a_closure_records_who_asked_and_combines_their_specifiers() -> None:
    kernel = environment(
        D("a", "1", ("shared>=1.2",)), D("b", "1", ("shared<2", "a")), D("shared", "1.5")
    )
    reached = closure([root("b")], kernel, markers("3.11"))
    assert reached.requirers("shared") == ("a", "b")
    assert reached.requirers("b") == ()
    assert reached.specifier("shared") == SpecifierSet(">=1.2,<2")
    assert satisfies("1.5", reached.specifier("shared"))
    assert not satisfies("2.0", reached.specifier("shared"))


def test_cycles_and_missing_distributions_end_the_walk() -> None:
    kernel = environment(D("a", "1", ("b",)), D("b", "1", ("a", "not-installed>=3")))
    reached = closure([root("a")], kernel, markers("3.11"))
    assert sorted(reached.needs) == ["a", "b", "not-installed"]
    assert reached.specifier("not-installed") == SpecifierSet(">=3")


def test_requirements_that_do_not_parse_are_skipped() -> None:
    broken = D("broken", "1", ("not a requirement !!", "ok>=1", 'bad; python_version >< "3"'))
    assert [d.key for d in dependencies_of(broken, (), markers("3.11"))] == ["ok"]


def test_names_are_compared_normalized() -> None:
    kernel = environment(D("app", "1", ("Typing.Extensions>=4",)), D("typing_extensions", "4.1"))
    assert sorted(closure([root("app")], kernel, markers("3.11")).needs) == [
        "app",
        "typing-extensions",
    ]


def test_satisfies_accepts_prereleases_and_refuses_what_is_not_a_version() -> None:
    assert satisfies("2.0rc1", SpecifierSet(">=1"))
    assert satisfies("1.0.post1", SpecifierSet("==1.0.post1"))
    assert not satisfies("not-a-version", SpecifierSet())
    assert not satisfies("1.9", SpecifierSet(">=2"))


def test_inconsistencies_say_what_pip_check_says() -> None:
    installed = {
        d.key: d
        for d in [
            D("matplotlib", "3.11.2", ("numpy>=1.25", "pyparsing>=3", "cycler>=0.10")),
            D("numpy", "1.24.4"),
            D("pyparsing", "3.3.3"),
            D("tool", "1", ('tomli>=1; python_version < "3.11"', 'xlrd; extra == "xls"')),
        ]
    }
    assert inconsistencies(installed, markers("3.11")) == [
        "matplotlib 3.11.2 needs numpy>=1.25, but the image has numpy 1.24.4",
        "matplotlib 3.11.2 needs cycler>=0.10, which the image lacks",
    ]
    assert inconsistencies(installed, markers("3.10"))[-1] == (
        'tool 1 needs tomli>=1; python_version < "3.11", which the image lacks'
    )


def test_a_consistent_set_has_no_inconsistencies() -> None:
    installed = {d.key: d for d in KERNEL.distributions.values() if d.key != "analysis-kit"}
    installed["app"] = D("app", "1", ("numpy>=2", "Typing_Extensions>=4"))
    assert inconsistencies(installed, markers("3.11")) == []

"""Finding and loading plugins, and every way that can go wrong."""

from collections.abc import Callable

import pytest
from tests.core.conftest import MakeDistribution
from tests.core.minimal_backend import SOURCE

import jamsession
from jamsession import (
    DuplicatePluginError,
    IncompatiblePluginError,
    PluginLoadError,
    PluginNotFoundError,
    PluginTypeError,
)
from jamsession._registry import Kind, _not_found_advice, _registered
from jamsession_memory import MemorySessions

BROKEN = "raise RuntimeError('driver missing')\n"


def test_unknown_name_lists_what_is_installed_and_gives_no_install_hint() -> None:
    # Anyone could publish jamsession-nosuchstore: advising to install it would be advising a stranger's code.
    with pytest.raises(PluginNotFoundError) as caught:
        jamsession.load_backend("nosuchstore")
    message = str(caught.value)
    assert "memory" in message
    assert "pip install jamsession-nosuchstore" not in message
    assert "'package.module:Class'" in message
    assert isinstance(caught.value, LookupError)
    assert "nosuchstore" == caught.value.name


@pytest.mark.parametrize(
    ("load", "typo", "meant"),
    [(jamsession.load_backend, "sqllite", "sqlite"), (jamsession.load_serializer, "jsn", "json")],
)
def test_a_near_miss_of_an_installed_name_is_a_typo(
    load: Callable[[str], object], typo: str, meant: str
) -> None:
    with pytest.raises(PluginNotFoundError) as caught:
        load(typo)
    message = str(caught.value)
    assert f"did you mean {meant!r}?" in message
    assert "pip install" not in message


def test_open_with_a_typo_suggests_the_installed_backend() -> None:
    with pytest.raises(PluginNotFoundError, match="did you mean 'sqlite'") as caught:
        jamsession.open("sqllite")
    assert "pip install" not in str(caught.value)


@pytest.mark.parametrize(
    ("kind", "name"),
    [("backend", "mongodb"), ("backend", "redis"), ("serializer", "cbor"), ("backend", "sqlite")],
)
def test_the_install_hint_is_given_for_this_projects_own_plugins_only(kind: Kind, name: str) -> None:
    # As on a machine where only the core (memory, json) is installed.
    advice = _not_found_advice(kind, name, ["memory", "json"])
    assert f"install it with `pip install jamsession-{name}`" in advice


def test_a_stranger_name_gets_the_list_of_this_projects_plugins_not_a_hint_for_itself() -> None:
    advice = _not_found_advice("backend", "cassandra", ["memory"])
    assert "jamsession-cassandra" not in advice
    assert "mongodb, redis, sqlite" in advice


def test_broken_plugin_names_its_distribution_and_chains_the_cause(
    make_distribution: MakeDistribution,
) -> None:
    make_distribution(
        "jamsession-broken",
        version="2.5",
        entry_points={"jamsession.backends": {"broken": "jamsession_broken:Sessions"}},
        modules={"jamsession_broken.py": BROKEN},
    )
    with pytest.raises(PluginLoadError) as caught:
        jamsession.open("broken")
    assert "jamsession-broken 2.5" in str(caught.value)
    assert isinstance(caught.value, ImportError)
    assert "jamsession-broken" == caught.value.distribution
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_broken_plugin_harms_nobody_else(make_distribution: MakeDistribution) -> None:
    make_distribution(
        "jamsession-broken",
        entry_points={"jamsession.backends": {"broken": "jamsession_broken:Sessions"}},
        modules={"jamsession_broken.py": BROKEN},
    )
    assert "broken" in [info.name for info in jamsession.installed_plugins("backend")]
    assert isinstance(jamsession.open("memory"), MemorySessions)


def test_two_distributions_claiming_one_name_are_both_named(make_distribution: MakeDistribution) -> None:
    for dist in ("jamsession-dict-a", "jamsession-dict-b"):
        make_distribution(
            dist,
            entry_points={"jamsession.backends": {"dict": "jamsession_dictstore:DictSessions"}},
            modules={"jamsession_dictstore.py": SOURCE},
        )
    with pytest.raises(DuplicatePluginError) as caught:
        jamsession.open("dict")
    assert "jamsession-dict-a" in str(caught.value)
    assert "jamsession-dict-b" in str(caught.value)


def test_plugin_for_another_core_version_is_refused_before_import(
    make_distribution: MakeDistribution,
) -> None:
    make_distribution(
        "jamsession-future",
        requires=("jamsession>=2,<3",),
        entry_points={"jamsession.backends": {"future": "jamsession_future:Sessions"}},
        modules={"jamsession_future.py": BROKEN},
    )
    with pytest.raises(IncompatiblePluginError, match=r"requires jamsession<3,>=2"):
        jamsession.open("future")


def test_an_entry_point_of_the_wrong_kind_is_refused(make_distribution: MakeDistribution) -> None:
    make_distribution(
        "jamsession-confused",
        entry_points={
            "jamsession.backends": {"confused": "jamsession_json:JsonEncoder"},
            "jamsession.serializers": {"confused": "jamsession_memory:MemorySessions"},
        },
    )
    with pytest.raises(PluginTypeError, match="not a subclass of BaseAsyncSessionModule") as caught:
        jamsession.open("confused")
    assert jamsession.JsonEncoder is caught.value.obj
    with pytest.raises(PluginTypeError, match="not a subclass of BaseEncoder"):
        jamsession.load_serializer("confused")


def test_an_abstract_backend_is_refused_naming_what_is_missing() -> None:
    with pytest.raises(PluginTypeError, match="abstract: implement"):
        jamsession.load_backend("jamsession:RecordSessionModule")


def test_module_colon_class_paths_work() -> None:
    assert MemorySessions is jamsession.load_backend("jamsession_memory:MemorySessions")
    with pytest.raises(PluginLoadError):
        jamsession.load_backend("no_such_module_anywhere:Sessions")
    with pytest.raises(PluginNotFoundError, match="module 'jamsession_memory' has no 'NoSuchClass'"):
        jamsession.load_backend("jamsession_memory:NoSuchClass")


def test_in_process_registration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(_registered, "backend", {})

    class AppSessions(MemorySessions):
        pass

    jamsession.register_backend("app", AppSessions)
    assert isinstance(jamsession.open("app"), AppSessions)
    assert "app" in [info.name for info in jamsession.installed_plugins("backend")]
    with pytest.raises(PluginTypeError):
        jamsession.register_backend("bad", dict)


def test_serializers_are_selected_by_name() -> None:
    store = jamsession.open("memory", serializer="json")
    assert jamsession.JsonEncoder is store.serializer

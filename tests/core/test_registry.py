"""Finding and loading plugins, and every way that can go wrong."""

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
from jamsession._registry import _registered
from jamsession_memory import MemorySessions

BROKEN = "raise RuntimeError('driver missing')\n"


def test_unknown_name_lists_what_is_installed_and_the_pip_hint() -> None:
    with pytest.raises(PluginNotFoundError) as caught:
        jamsession.load_backend("nosuchstore")
    message = str(caught.value)
    assert "memory" in message
    assert "pip install jamsession-nosuchstore" in message
    assert isinstance(caught.value, LookupError)
    assert "nosuchstore" == caught.value.name


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

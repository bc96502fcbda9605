"""The documentation site builds strictly, and its API reference carries every member of Jam's API page."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tests.docs.markdown_blocks import ROOT

# Jam's API page of the session module: every member, with its description, and the
# parameter and return descriptions it gives. The BaseAsyncSessionModule page must carry all.
JAM_MEMBERS = {
    "id": ["Return the unique ID use id_factory."],
    "__decode_session_data__": ["Decode session data."],
    "__decode_session_id__": ["Decode the session using AES decryption."],
    "__decode_session_id_if_needed__": ["Decode the session ID if it is encoded."],
    "__encode_session_data__": ["Encode session data."],
    "__encode_session_id__": ["Encode the session using AES encryption."],
    "__encode_session_id_if_needed__": ["Encode the session ID if it is not already encoded."],
    "clear": ["Clear all sessions by key.", "The key for the sessions to clear."],
    "create": [
        "Create a new session with the given session key and data.",
        "The key for the session.",
        "The data to be stored in the session.",
        "The session ID.",
    ],
    "delete": ["Delete a session by its key or ID.", "The ID of the session."],
    "get": [
        "Retrieve a session by its key or ID.",
        "The ID of the session.",
        "The session data if found, otherwise None.",
    ],
    "rework": [
        "Rework a session and return its new ID.",
        "The ID of the session to rework.",
        "If the session with the given ID does not exist.",
        "The new session ID.",
    ],
    "update": [
        "Update an existing session with new data.",
        "The ID of the session to update.",
        "The new data to be stored in the session.",
        "If the session with the given ID does not exist.",
    ],
}
JAM_CONSTRUCTOR = ["id_factory", "is_session_crypt", "session_aes_secret", "serializer", "logger"]
JAM_CLASS = "Abstract base class for async session management modules."


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "mkdocs"), "build", "--strict", "--site-dir", str(target)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert 0 == result.returncode, result.stderr
    # Pages left out of the navigation are only an INFO message; they count here.
    assert 'not included in the "nav"' not in result.stderr, result.stderr
    return target


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)))


def _sections(page: str, prefix: str) -> dict[str, str]:
    """The text under each heading whose id starts with ``prefix``, by the rest of its id."""
    found = list(re.finditer(rf'id="{re.escape(prefix)}([\w.]+)"', page))
    sections = {}
    for match, following in zip(found, [*found[1:], None], strict=True):
        end = following.start() if following else len(page)
        sections[match.group(1)] = _text(page[match.start() : end])
    return sections


def test_base_page_carries_every_member_of_jams_api_page(site: Path) -> None:
    page = (site / "reference" / "base" / "index.html").read_text()
    article = _text(page)
    assert JAM_CLASS in article
    for parameter in JAM_CONSTRUCTOR:
        assert f" {parameter} " in article, parameter
    # The summary tables of Jam's API page.
    assert "Methods:" in article
    assert "Attributes:" in article
    sections = _sections(page, "jamsession.BaseAsyncSessionModule.")
    for member, descriptions in JAM_MEMBERS.items():
        assert member in sections, f"no section for {member}"
        for description in descriptions:
            assert description in sections[member], f"{member}: {description!r}"


def test_every_public_name_is_in_the_api_reference(site: Path) -> None:
    import jamsession
    import jamsession.testing

    reference = " ".join(path.read_text() for path in (site / "reference").rglob("index.html"))
    anchors = set(re.findall(r'id="([\w.]+)"', reference))
    documented = {anchor.rsplit(".", 1)[-1] for anchor in anchors}
    public = {name for name in jamsession.__all__ if not name.startswith("_")}
    public |= set(jamsession.testing.__all__)
    assert set() == public - documented

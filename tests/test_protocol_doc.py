"""docs/protocol.md documents every message of server/protocol.py: each client and server
message `type` in its own section's table, each error code in the error table, each
command name and agent kind; and it keeps everything the shared protocol it extends
defines (../shared/protocol.md, where that checkout has one)."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest

from server import protocol
from tests.conftest import ROOT

DOC = ROOT / "docs" / "protocol.md"


def sections(text: str) -> dict[str, str]:
    """Level-2 heading -> its text."""
    parts = re.split(r"^## +(.+)$", text, flags=re.MULTILINE)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def table_keys(body: str) -> set[str]:
    """The `code` in the first cell of each table row."""
    return set(re.findall(r"^\| *`([^`]+)`", body, flags=re.MULTILINE))


def message_types(union: object) -> list[str]:
    members = typing.get_args(typing.get_args(union)[0])
    return [member.model_fields["type"].default for member in members]


def test_the_readme_names_the_protocol_inside_the_repository() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "shared/" not in readme and "../" not in readme
    assert "docs/protocol.md" in readme


@pytest.mark.parametrize(("section", "types"), [
    ("Client to server", message_types(protocol.ClientMessage)),
    ("Server to client", message_types(protocol.ServerMessage)),
    ("Errors", list(typing.get_args(protocol.ErrorCode))),
])
def test_every_message_type_and_error_code_is_documented(section: str, types: list[str]) -> None:
    documented = table_keys(sections(DOC.read_text(encoding="utf-8"))[section])
    assert types
    assert set(types) <= documented, f"missing from {section!r}: {set(types) - documented}"


def test_the_client_types_are_the_parsers() -> None:
    assert set(message_types(protocol.ClientMessage)) == set(protocol.CLIENT_TYPES)


@pytest.mark.parametrize("values", [typing.get_args(protocol.CommandName),
                                    typing.get_args(protocol.AgentKind)])
def test_every_command_and_agent_kind_is_documented(values: tuple[str, ...]) -> None:
    text = DOC.read_text(encoding="utf-8")
    assert [v for v in values if f"`{v}`" not in text] == []


def test_it_keeps_every_message_of_the_shared_protocol() -> None:
    shared = ROOT.parent / "shared" / "protocol.md"
    if not shared.is_file():
        pytest.skip("no ../shared/protocol.md beside this checkout")
    ours, theirs = sections(DOC.read_text(encoding="utf-8")), sections(shared.read_text(encoding="utf-8"))
    assert set(theirs) <= set(ours)
    for title, body in theirs.items():
        assert table_keys(body) <= table_keys(ours[title]), title


def test_docs_are_in_the_repository() -> None:
    assert Path(DOC).is_file()

"""The folders viva ships besides its code: the page (client/), the question bank
(questions/) and the LLM prompts (prompts/).

They live at the top of the repository. A wheel carries them inside the package
(setuptools maps them to server/client, server/questions, server/prompts; see
pyproject.toml), so an installed viva finds them with `importlib.resources` wherever
it runs from. A source tree or an editable install has no such copy: there the folder
is the repository's own, beside server/.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Literal

Shipped = Literal["client", "questions", "prompts"]


def shipped_dir(name: Shipped) -> Path:
    """The folder `name` of this installation (a real directory: files are served from
    it and globbed; a zipped install is not supported)."""
    inside = importlib.resources.files("server") / name
    if inside.is_dir():
        return Path(str(inside))
    return Path(__file__).resolve().parent.parent / name

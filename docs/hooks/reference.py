"""mkdocs hook: the references' tables are generated from the code's declarations
(:mod:`nni_rl_nas.reference`) at their pages' markers, at every build."""

from __future__ import annotations

MARKERS = {
    "reference/config.md": ("<!-- generated: options -->", "markdown"),
    "reference/trial-results.md": ("<!-- generated: messages -->", "messages_markdown"),
}


def on_page_markdown(markdown: str, page, config, files) -> str:
    if page.file.src_uri not in MARKERS:
        return markdown
    from nni_rl_nas import reference

    marker, generate = MARKERS[page.file.src_uri]
    if marker not in markdown:
        raise ValueError(f"{page.file.src_uri} lost its marker {marker!r}: the generated tables have nowhere to go")
    return markdown.replace(marker, getattr(reference, generate)())

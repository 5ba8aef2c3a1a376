"""mkdocs hook: the config reference's tables are generated from the code's declarations
(:mod:`nni_rl_nas.reference`) into ``reference/config.md`` at its marker, at every build."""

from __future__ import annotations

MARKER = "<!-- generated: options -->"


def on_page_markdown(markdown: str, page, config, files) -> str:
    if page.file.src_uri != "reference/config.md":
        return markdown
    from nni_rl_nas.reference import markdown as reference

    if MARKER not in markdown:
        raise ValueError(f"reference/config.md lost its marker {MARKER!r}: the generated tables have nowhere to go")
    return markdown.replace(MARKER, reference())

"""Execute the results notebook on the pipeline's outputs and export it to HTML.

    python -m example.render_notebook [--notebook example/notebooks/results.ipynb]

Run it from the repository root after the workflow; it prints where the HTML and plots are.
"""

from __future__ import annotations

import argparse
import os
import pathlib

from example import paths

NOTEBOOK = pathlib.Path(__file__).parent / "notebooks" / "results.ipynb"


def render(notebook_path: pathlib.Path = NOTEBOOK, timeout: int = 600) -> pathlib.Path:
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    notebook = nbformat.read(notebook_path, as_version=4)
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": "."}}
    )
    client.execute()
    html, _ = HTMLExporter().from_notebook_node(notebook)
    output = pathlib.Path(paths.notebook_html())
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(html, encoding="utf-8")
    return output


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__)
    arguments.add_argument("--notebook", type=pathlib.Path, default=NOTEBOOK)
    options = arguments.parse_args()
    output = render(options.notebook)
    print(f"notebook: {os.path.abspath(output)}")
    for figure in sorted(pathlib.Path(paths.figures()).glob("*.png")):
        print(f"plot:     {os.path.abspath(figure)}")


if __name__ == "__main__":
    main()

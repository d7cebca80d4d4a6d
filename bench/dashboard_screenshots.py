"""Screenshots of every dashboard page over a results root, for people to look at.

    python bench/dashboard_screenshots.py [--root derived_data] [--out results/dashboard]

Writes overview.png, queue.png, study.png (the largest study) and run.png (the first run
awaiting a decision, else the first run) into ``--out``.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.dashboard.live import LiveServer, launch


def shoot(root: str, out: str, width: int = 1360) -> list[str]:
    """Save the screenshots; their paths."""
    from playwright.sync_api import sync_playwright

    os.makedirs(out, exist_ok=True)
    written = []
    with LiveServer(root) as server, sync_playwright() as playwright:
        index = server.dashboard.index
        # the study with the most trials shows the most
        studies = sorted(index.studies, key=lambda name: -len(index.studies[name].trials))
        waiting = [row for _, row in index.awaiting_runs()]
        runs = waiting or list(index.runs.values())
        pages = {"overview": "/", "queue": "/queue"}
        if studies:
            pages["study"] = f"/study/{studies[0]}"
        if runs:
            pages["run"] = f"/run/{runs[0]['resource']}/{runs[0]['hash']}"
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": width, "height": 900})
        for name, path in pages.items():
            page.goto(server.url(path))
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(800)  # plots drawn
            target = os.path.join(out, f"{name}.png")
            page.screenshot(path=target, full_page=True)
            written.append(target)
        browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", default="derived_data")
    parser.add_argument("--out", default=os.path.join("results", "dashboard"))
    options = parser.parse_args()
    for path in shoot(options.root, options.out):
        print(path)


if __name__ == "__main__":
    main()

"""NNI's web UI in a real browser: the trials list shows each trial's architecture and score.

Headless Chromium, driven by Selenium through Debian's chromedriver
(``apt-get install chromium chromium-driver``), opens the trials page of a finished
quick_cartpole.yml experiment, adds the ``architecture`` column the way a user would, and reads
the table. The page's screenshot is saved beside the test's experiment.
"""

import json
import math
import shutil
import time

import pytest

from tests.experiments import finished_trials, start_experiment

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


def trials_table(port: int, screenshot) -> dict[str, list[str]]:
    """{trial id: its row's cells} from the Trials detail page, with the architecture column added."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1300"):
        options.add_argument(argument)
    options.binary_location = CHROMIUM
    browser = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        browser.get(f"http://127.0.0.1:{port}/detail")
        wait = WebDriverWait(browser, 60)

        def click(text: str) -> None:
            wait.until(expected_conditions.element_to_be_clickable((By.XPATH, f"//*[text()='{text}']"))).click()

        click("Add/Remove columns")
        click("architecture (space)")
        click("Save")
        wait.until(lambda _: "architecture (space)" in browser.find_element(By.CSS_SELECTOR, "[role=row]").text)
        time.sleep(1)
        browser.execute_script("document.querySelector('[role=grid]').scrollIntoView()")
        browser.save_screenshot(str(screenshot))
        rows = [row.text.split("\n") for row in browser.find_elements(By.CSS_SELECTOR, "[role=row]")[1:]]
    finally:
        browser.quit()
    return {cells[2]: cells for cells in rows if len(cells) > 2}


@pytest.mark.slow
@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="needs apt-get install chromium chromium-driver")
def test_the_trials_list_shows_each_architecture_and_its_score(tmp_path):
    with start_experiment(tmp_path, "quick_cartpole.yml") as (experiment_id, port, _):
        trials, _ = finished_trials(experiment_id, port)
        table = trials_table(port, tmp_path / "web_ui_trials.png")
    assert set(table) == {trial["trialJobId"] for trial in trials}
    for trial in trials:
        architecture = json.loads(trial["hyperParameters"][0])["parameters"]["architecture"]
        score = json.loads(json.loads(trial["finalMetricData"][0]["data"]))["default"]
        cells = table[trial["trialJobId"]]
        assert architecture in cells, cells
        shown = next(cell for cell in cells if cell.endswith("(FINAL)"))
        assert math.isclose(float(shown.split()[0]), score, rel_tol=1e-3, abs_tol=0.01), (shown, score)
    assert (tmp_path / "web_ui_trials.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

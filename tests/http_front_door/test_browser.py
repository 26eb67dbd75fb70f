"""The captions page in headless Chromium (Debian's chromium and
chromium-driver, driven by Selenium): the fake microphone plays a generated
sentence, MediaRecorder streams WebM/Opus over the WebSocket, and the page
shows interim then final captions; the upload box gets SRT back."""

import os
import pathlib
import shutil
import subprocess

import pytest

from conftest import REPO, SENTENCE, word_errors, words

selenium = pytest.importorskip("selenium")
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="chromium and chromium-driver are not installed")


@pytest.fixture(scope="module")
def microphone_wav(tmp_path_factory, speech_wav) -> pathlib.Path:
    """What the fake microphone plays (on a loop): the sentence between pauses,
    as 48 kHz, the rate Chromium captures at."""
    path = tmp_path_factory.mktemp("mic") / "mic.wav"
    subprocess.run(["sox", str(speech_wav), "-r", "48000", "-c", "1", "-b", "16",
                    str(path)], check=True)
    return path


@pytest.fixture
def browser(microphone_wav):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-dev-shm-usage", "--window-size=1000,800",
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                 f"--use-file-for-fake-audio-capture={microphone_wav}",
                 "--autoplay-policy=no-user-gesture-required"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER),
                              options=options)
    yield driver
    driver.quit()


def page_state(driver) -> dict:
    return driver.execute_script("return window.voxgate")


def test_live_captions_show_interim_then_final_text(gateway, browser, tmp_path):
    browser.get(gateway.url + "/")
    assert browser.title == "Voxgate live captions"
    browser.find_element(By.ID, "start").click()
    WebDriverWait(browser, 90, poll_frequency=0.2).until(
        lambda driver: page_state(driver)["finals"] >= 1,
        message="no final caption appeared")
    state = page_state(browser)
    assert state["interims"] >= 1, "no interim caption appeared before the final"
    assert word_errors(words(SENTENCE), words(state["finalTexts"][0])) <= 1, state
    final_line = browser.find_element(By.CSS_SELECTOR, ".line .text.final")
    assert final_line.text == state["finalTexts"][0]
    timestamp = browser.find_element(By.CSS_SELECTOR, ".line .time").text
    assert "–" in timestamp and timestamp.startswith("00:0")
    screenshot = pathlib.Path(os.environ.get("VOXGATE_SCREENSHOT_DIR", tmp_path))
    screenshot.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(screenshot / "captions.png"))

    browser.find_element(By.ID, "stop").click()
    WebDriverWait(browser, 60, poll_frequency=0.2).until(
        lambda driver: page_state(driver)["closeCode"] is not None,
        message="the stream did not close after Stop")
    assert page_state(browser)["closeCode"] == 1000


def test_upload_box_shows_srt_and_offers_it(gateway, browser, speech_wav):
    browser.get(gateway.url + "/")
    browser.find_element(By.ID, "file").send_keys(str(speech_wav))
    browser.find_element(By.CSS_SELECTOR, "#upload button").click()
    srt = browser.find_element(By.ID, "srt")
    WebDriverWait(browser, 60, poll_frequency=0.2).until(
        lambda _: srt.is_displayed() and srt.text.strip(),
        message="no SRT appeared")
    assert srt.text.startswith("1\n00:00:")
    assert word_errors(words(SENTENCE), words(srt.text.split("\n", 2)[2])) <= 1
    link = browser.find_element(By.ID, "download")
    assert link.is_displayed() and link.get_attribute("href").startswith("blob:")
    assert link.get_attribute("download") == "transcript.srt"

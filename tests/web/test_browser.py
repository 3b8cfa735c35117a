"""End to end in a real headless browser: Debian's chromium driven by Selenium against the real server.

The server is uvicorn on a free 127.0.0.1 port with the tiny NumPy separator. The test drops a
generated song on the drop zone, picks another with the file picker, follows the progress bar
to 100 %, plays the vocals, mixes the karaoke slider, downloads a stem, and sees a bad file
refused on the page. Chromium is required: without it the test fails (scripts/install.sh
installs it).
"""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.web.support import free_port, tiny_factory, write_song
from unmix.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path) -> Iterator[str]:
    # Slow enough that the page sees the progress between 0 and 100 % (it reports every 10 s of song).
    app = create_app(tmp_path / "work", separator_factory=tiny_factory(delay_s=0.03, block_seconds=2.0), models=["fast"], default_model="fast")
    port = free_port()
    instance = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(30)


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    assert CHROMIUM.exists() and CHROMEDRIVER.exists(), f"{CHROMIUM} and {CHROMEDRIVER} are needed: run scripts/test.sh, which installs them (apt-get install chromium chromium-driver)"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--autoplay-policy=no-user-gesture-required", "--window-size=1200,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


DROP = """
const input = document.getElementById("drop-source");
const data = new DataTransfer();
data.items.add(input.files[0]);
const zone = document.getElementById("drop");
zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: data, bubbles: true, cancelable: true}));
const highlighted = zone.classList.contains("over");
zone.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true}));
return highlighted;
"""

# Every value each card's progress bar takes, recorded as the page sets it: {song name: [percent, ...]}.
WATCH_PROGRESS = """
window.seenProgress = {};
new MutationObserver((records) => {
  for (const record of records) {
    if (record.attributeName !== "aria-valuenow") continue;
    const name = record.target.closest(".job").querySelector(".job-name").textContent;
    (window.seenProgress[name] = window.seenProgress[name] || []).push(Number(record.target.getAttribute("aria-valuenow")));
  }
}).observe(document.getElementById("jobs"), {subtree: true, attributes: true, attributeFilter: ["aria-valuenow"]});
"""


def card(driver, name: str):
    return driver.find_element(By.XPATH, f"//li[contains(@class, 'job')][.//strong[@class='job-name' and text()='{name}']]")


def test_drop_a_song_follow_the_progress_listen_and_download(server, browser, tmp_path):
    dropped = write_song(tmp_path / "dropped song.wav", seconds=30.0)
    picked = write_song(tmp_path / "picked.flac", seconds=4.0)
    lyrics = tmp_path / "lyrics.wav"
    lyrics.write_text("not a song\n" * 50)
    wait = WebDriverWait(browser, 60, poll_frequency=0.1)

    browser.get(server)
    wait.until(lambda d: len(Select(d.find_element(By.ID, "model")).options) > 0)
    assert Select(browser.find_element(By.ID, "model")).first_selected_option.get_attribute("value") == "fast"
    assert [o.get_attribute("value") for o in Select(browser.find_element(By.ID, "format")).options] == ["wav", "flac", "mp3"]
    browser.execute_script(WATCH_PROGRESS)

    # Drop zone: the file reaches the page through a drop event carrying it.
    browser.execute_script("const i = document.createElement('input'); i.type = 'file'; i.id = 'drop-source'; i.hidden = true; document.body.append(i);")
    browser.find_element(By.ID, "drop-source").send_keys(str(dropped))
    assert browser.execute_script(DROP), "the drop zone did not light up under a dragged file"
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#jobs .job"))
    # File picker, while the first is separating: it waits in the queue.
    Select(browser.find_element(By.ID, "format")).select_by_value("flac")
    browser.find_element(By.ID, "file").send_keys(str(picked))
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#jobs .job")) == 2)

    first = card(browser, "dropped song.wav")
    wait.until(lambda d: first.find_element(By.CSS_SELECTOR, ".bar").get_attribute("aria-valuenow") == "100")
    wait.until(lambda d: "done" in first.get_attribute("class"))
    assert first.find_element(By.CSS_SELECTOR, ".percent").text == "100 %"
    seen = browser.execute_script("return window.seenProgress;")["dropped song.wav"]
    assert any(0 < value < 100 for value in seen), f"the bar jumped from 0 to 100 without the separator's progress: {seen}"

    # The vocals play in the page.
    vocals = first.find_element(By.CSS_SELECTOR, "audio.vocals")
    wait.until(lambda d: d.execute_script("return arguments[0].readyState >= 1 && arguments[0].duration > 0;", vocals))
    assert browser.execute_script("return arguments[0].duration;", vocals) == pytest.approx(30.0, abs=0.1)
    browser.execute_async_script("arguments[0].play().then(arguments[1], (e) => arguments[1](String(e)));", vocals)
    wait.until(lambda d: d.execute_script("return arguments[0].currentTime;", vocals) > 0.3)
    browser.execute_script("arguments[0].pause();", vocals)

    # The karaoke mix plays both stems through the Web Audio API; the slider sets the vocals level.
    first.find_element(By.CSS_SELECTOR, ".mix-play").click()
    wait.until(lambda d: first.find_element(By.CSS_SELECTOR, ".mix-status").text == "playing")
    browser.execute_script("const s = arguments[0]; s.value = 25; s.dispatchEvent(new Event('input'));", first.find_element(By.CSS_SELECTOR, ".vocals-level"))
    assert first.find_element(By.CSS_SELECTOR, ".level").text == "25 %"
    first.find_element(By.CSS_SELECTOR, ".mix-play").click()
    assert first.find_element(By.CSS_SELECTOR, ".mix-status").text.startswith("paused at")

    # The spectrogram is shown, and each download link returns its stem.
    picture = first.find_element(By.CSS_SELECTOR, "img.spectrogram")
    wait.until(lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0;", picture))
    link = first.find_element(By.CSS_SELECTOR, ".stem[data-stem='instrumental'] a.download")
    assert link.get_attribute("download") is not None
    with urllib.request.urlopen(link.get_attribute("href"), timeout=30) as response:
        assert response.status == 200 and response.headers["Content-Type"] == "audio/wav"
        assert response.read()[:4] == b"RIFF"

    second = card(browser, "picked.flac")
    wait.until(lambda d: "done" in second.get_attribute("class"))
    assert "flac" in second.find_element(By.CSS_SELECTOR, ".job-meta").text
    with urllib.request.urlopen(second.find_element(By.CSS_SELECTOR, "a.download").get_attribute("href"), timeout=30) as response:
        assert response.headers["Content-Type"] == "audio/flac" and response.read()[:4] == b"fLaC"

    # A file that is not audio is refused on the page, and no job appears for it.
    browser.find_element(By.ID, "file").send_keys(str(lyrics))
    message = browser.find_element(By.ID, "message")
    wait.until(lambda d: "not audio" in message.text)
    assert message.text.startswith("lyrics.wav: this file is not audio that unmix can decode")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#jobs .job")) == 2

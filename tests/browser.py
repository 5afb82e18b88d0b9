"""A real headless browser for the tests of the live view: Debian's chromium through
its chromedriver (scripts/setup.sh installs both), never one downloaded at run time."""
import contextlib
import os
import shutil

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@contextlib.contextmanager
def chromium(width=1366, height=900):
    """A headless Chromium session; stopped after."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not shutil.which(path):
            raise RuntimeError(f"{path} is missing: run `make setup` (or apt-get install "
                               "chromium chromium-driver) for the browser test")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox",  # as root, Chromium needs it
                     "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={width},{height}"):
        options.add_argument(argument)
    os.environ["SE_OFFLINE"] = "true"  # selenium manager never fetches anything
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()

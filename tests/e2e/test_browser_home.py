"""The browser the e2e tests start leaves the user's home alone (its own HOME and XDG directories)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import chromium

pytestmark = [pytest.mark.browser]


def test_the_browser_writes_nothing_in_the_users_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    """Before, `~/.config/chromium/Crash Reports` and `~/.cache/dconf` appeared despite --user-data-dir."""
    home = tmp_path / "user-home"
    home.mkdir()
    # The user's home, as the test process sees it (a scratch one, so the check can see every write).
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.delenv(name, raising=False)
    profile = tmp_path / "profile"
    profile.mkdir()
    driver = chromium(profile)
    try:
        driver.get("data:text/html,<title>home check</title><p>x</p>")
        assert driver.title == "home check"
    finally:
        driver.quit()
    assert sorted(str(p.relative_to(home)) for p in home.rglob("*")) == []
    # The browser did write its files, in the home it was given beside its profile.
    assert (tmp_path / "profile-home" / ".config" / "chromium").is_dir()

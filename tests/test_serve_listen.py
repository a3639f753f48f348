"""``colorsplash serve`` refuses what it cannot listen on in one line naming the option, before it announces an
address (no traceback)."""

from __future__ import annotations

import pytest

from colorsplash import cli


@pytest.mark.parametrize("port", ["99999", "-1", "0"])
def test_a_port_out_of_range_is_refused_naming_the_option(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve", "--port", port]) == 2
    err = capsys.readouterr().err
    assert "--port" in err and "1 to 65535" in err and "Traceback" not in err and "open http" not in err

"""``python -m taskhub`` imports nothing from the working directory (as the console script)."""
from __future__ import annotations

import textwrap

from taskhub.testing import cli


def test_python_m_taskhub_ignores_plugins_in_the_working_directory(tmp_path):
    marker = tmp_path / "MARKER"
    (tmp_path / "evilplugin.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    dist = tmp_path / "evilplugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: evilplugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(textwrap.dedent("""\
        [taskhub]
        evil = evilplugin
        """))
    result = cli("plugins", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert '"evil"' not in result.stdout and not marker.exists()

"""``citynet metrics`` options that contradict each other: one message, exit 2, never a filter other than the one
asked for without a word."""

from __future__ import annotations

from tests.cli import invoke


def _one_line(text: str) -> str:
    return " ".join(text.split())


def test_all_patents_with_a_grant_year_basis_is_one_message(tmp_path, capsys):
    """``--all-patents --year-basis grant`` computed the panels of ``invention.wipo.granted.grantyear`` (granted
    patents only: a grant year exists only for a granted patent) and said nothing of ``--all-patents``. Now it
    is refused before any work (exit 2), on the command line or with ``year_basis = "grant"`` in citynet.toml."""
    ws = tmp_path / "ws"
    assert invoke(capsys, "init", "-w", ws)[0] == 0
    code, out, err = invoke(capsys, "metrics", "-w", ws, "--year-basis", "grant", "--all-patents")
    assert code == 2, err
    err = _one_line(err)
    assert err.startswith("error: --all-patents has no effect with --year-basis grant: only a granted patent has a "
                          "grant year, so a grant-year network holds granted patents only"), err
    assert "fix: to count every patent, by its application year: --all-patents --year-basis application" in err
    assert not (ws / "metrics").exists()

    toml = ws / "citynet.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('year_basis = "application" #', 'year_basis = "grant" #'),
                    encoding="utf-8")
    code, _, err = invoke(capsys, "metrics", "-w", ws, "--all-patents")
    assert code == 2, err
    assert f'--all-patents has no effect with {toml} [network] year_basis = "grant"' in _one_line(err), err
    # the combinations that mean what they say go on to the store (empty here: that message, not this one)
    for args in (["--year-basis", "grant"], ["--all-patents", "--year-basis", "application"], ["--granted-only"]):
        code, _, err = invoke(capsys, "metrics", "-w", ws, *args)
        assert "has no effect" not in err, (args, err)

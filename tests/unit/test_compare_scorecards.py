"""tools/compare_scorecards.py finds every change between two builds' scorecards, and none where there is none."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("compare_scorecards", ROOT / "tools" / "compare_scorecards.py")
compare_scorecards = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare_scorecards)


def card(claims: list[dict]) -> dict:
    return {"chapter": "01_nap", "paper": "NAP", "profile": "default", "claims": claims, "counts": {}}


def claim(text: str, **kw) -> dict:
    return {"claim": text, "verdict": "reproduced", "paper": 1.0, "ours": 1.0, "interval": None, "reason": "r", **kw}


def write(folder: Path, claims: list[dict]) -> Path:
    folder.mkdir()
    (folder / "01_nap.json").write_text(json.dumps(card(claims)))
    return folder


def test_identical_builds_compare_equal(tmp_path, capsys):
    claims = [claim("a"), claim("b", interval=[-0.5, 1.0], verdict="inconclusive"), claim("a", ours=2.0)]
    a, b = write(tmp_path / "a", claims), write(tmp_path / "b", claims)
    assert compare_scorecards.main([str(a), str(b)]) == 0
    assert "identical" in capsys.readouterr().out


def test_every_kind_of_change_is_reported(tmp_path, capsys):
    a = write(tmp_path / "a", [claim("a"), claim("b", interval=[0.1, 1.0]), claim("c"), claim("d")])
    b = write(tmp_path / "b", [claim("a", verdict="partly"), claim("b", interval=[0.1, 1.0000001]),
                               claim("d", reason="other"), claim("e")])
    assert compare_scorecards.main([str(a), str(b)]) == 1
    out = capsys.readouterr().out
    for expected in ["'a': verdict 'reproduced' -> 'partly'", "'b': interval", "missing after: 'c'",
                     "'d': reason 'r' -> 'other'", "new after: 'e'", "5 differences"]:
        assert expected in out, expected
    assert compare_scorecards.main([str(a), str(b), "--tolerance", "1e-6"]) == 1  # the interval is now within it
    assert "'b': interval" not in capsys.readouterr().out

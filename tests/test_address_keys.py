"""The key decisions shipped with the package (``etl/data/address_keys.parquet``) are current and are
exactly what the rules decide (``python -m citynet.etl.address_keys`` rewrites them)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pyarrow as pa
from citynet.etl import address as A


def test_shipped_key_decisions_are_current(monkeypatch) -> None:
    monkeypatch.setattr(A, "_KEY_TABLE", [])
    table = A._key_table()
    assert table.shipped, (
        "etl/data/address_keys.parquet does not match etl/address.py or the gazetteer: "
        "run `python -m citynet.etl.address_keys`"
    )
    assert (table.state > 0).all()


def test_shipped_key_decisions_equal_a_fresh_reading(monkeypatch) -> None:
    """Every 40th key (about 1,350) read again now gives the shipped decision."""
    shipped = A._KeyTable()  # the shipped file itself, not the setup cache
    assert shipped.shipped
    fresh = A._KeyTable(saved=False)
    gids = np.arange(0, len(fresh.state), 40)
    words = pa.concat_arrays([A._candidate_keys()[k] for k in fresh.lengths]).take(pa.array(gids)).to_pylist()
    fresh.read(gids, words)
    for name in ("state", "city", "cprov", "matched", "matched_p", "tail", "danger"):
        a, b = getattr(fresh, name)[gids], getattr(shipped, name)[gids]
        same = [(x == y) or (pd.isna(x) and pd.isna(y)) if not isinstance(x, frozenset) else x == y
                for x, y in zip(a.tolist(), b.tolist(), strict=True)]  # fmt: skip
        assert all(same), (name, [w for w, s in zip(words, same, strict=True) if not s][:5])


def test_shipped_keys_give_the_whole_reading(monkeypatch, tmp_path) -> None:
    """With the shipped decisions and an empty disk cache, answers equal ``parse_address`` row by row."""
    monkeypatch.setenv("CITYNET_CACHE", str(tmp_path))
    monkeypatch.setattr(A, "_KEY_TABLE", [])
    addrs = pd.Series(["江苏省南京市鼓楼区中山北路8号", "浙江义乌国际商贸城", "河北邯郸高新区", "河北邯郸市丛台区",
                       "上海市闸北区江场路", "江苏南京路8号", "柯桥金昌商务大厦", "广东省中山市场", "贵州省黔西县城关镇",
                       "黑龙江省佳木斯市郊区英俊社区", "深圳市南山区沙河街道", "庆安县农商物流园"])  # fmt: skip
    out = A.parse_addresses(addrs)
    assert A._key_table().shipped and not list(tmp_path.glob("address-keys-*"))  # nothing read, nothing written
    for i, a in enumerate(addrs):
        assert tuple(out.iloc[i][["city_code", "province_code", "country", "status", "matched"]]) == A.parse_address(a)


def test_setup_cache_gives_the_built_table(monkeypatch, tmp_path) -> None:
    """The key table and trie loaded from the setup cache equal the built ones and give the same
    answers; another digest (a changed source file) finds no folder and builds again."""
    monkeypatch.setenv("CITYNET_CACHE", str(tmp_path))
    monkeypatch.setattr(A, "_KEY_TABLE", [])
    assert A._SetupCache.load() is None  # empty cache
    built = A._key_table()  # built, then written
    assert [p.name for p in tmp_path.iterdir()] == [os.path.basename(A._SetupCache.folder(A._SetupCache.digest()))]
    loaded = A._SetupCache.load()
    assert loaded is not None and loaded.shipped
    for name in ("state", "tail", "cprov_n", "has_danger", "city", "cprov", "matched", "matched_p"):
        a, b = getattr(built, name), getattr(loaded, name)
        assert a.dtype == b.dtype and a.tolist() == b.tolist(), name
    assert np.array_equal(built.danger_pairs(), loaded.danger_pairs())
    assert loaded.lengths == built.lengths and loaded.offset == built.offset
    for name in ("rec", "cmap", "chars", "three_bytes", "pairs", "pair_slots", "pair_mask", "pair_shift", "kprev", "kbytes", "kanc"):
        assert np.array_equal(getattr(built.trie, name), getattr(loaded.trie, name)), name
    addrs = pd.Series(["江苏省南京市鼓楼区中山北路8号", "浙江义乌国际商贸城", "河北邯郸高新区", "广东省中山市场",
                       "210008 南京市", "鼓楼区", "江苏南京路8号"])  # fmt: skip
    first = A.parse_addresses(addrs, pd.Series(["江苏(32)", None, None, None, None, "福建(35)", None]))
    monkeypatch.setattr(A, "_KEY_TABLE", [loaded])
    assert A.parse_addresses(addrs, pd.Series(["江苏(32)", None, None, None, None, "福建(35)", None])).equals(first)
    monkeypatch.setattr(A._SetupCache, "digest", staticmethod(lambda: "0" * 40))
    assert A._SetupCache.load() is None


def test_setup_cache_lexicon_equals_the_built_one(monkeypatch, tmp_path) -> None:
    """The address lexicon, automaton and pattern prefixes pickled in the setup folder are the built ones."""
    import pickle

    monkeypatch.setenv("CITYNET_CACHE", str(tmp_path))
    monkeypatch.setattr(A, "_KEY_TABLE", [])
    A._key_table()  # built and written (with the lexicon of this process)
    with open(os.path.join(A._SetupCache.folder(A._SetupCache.digest()), "lexicon.pkl"), "rb") as fh:
        lex, auto, prefixes = pickle.load(fh)
    built = A._build_lexicon(False)
    assert lex == built and prefixes == A._pattern_prefixes()
    text = "浙江省杭州市萧山区北干街道江苏南京路鼓楼区廣東省"
    assert list(auto.iter(text)) == list(A.automaton(False).iter(text))
    assert len(auto) == len(built)

"""Write the decisions of every address key shipped with the package (``etl/data/address_keys.parquet``).

    python -m citynet.etl.address_keys [--out PATH]

``parse_addresses`` looks up the chain of unit names an address begins with (江苏省南京市, 浙江义乌, …:
54,000 *keys*, ``etl.address._candidate_keys``) and reads each key it meets once with the whole
reading. Reading all of them takes about 10–20 s; this command does it once and writes the decisions
(city, matched text, tail check, danger characters) with the SHA-1 of what they depend on — the key
list, the lexicon size, ``etl/address.py`` and the history table. At run time the file is used only
when that digest matches, so a changed rule or gazetteer can never be answered from stale decisions
(the keys are then read as they are met, as before, and cached in ``$CITYNET_CACHE``).
``tests/test_address_keys.py`` fails when the shipped file is not current: run this command after
any change of ``etl/address.py`` or the gazetteer.
"""

from __future__ import annotations

import argparse
import time


def main(argv: list[str] | None = None) -> None:
    from citynet.etl import address as A

    ap = argparse.ArgumentParser(prog="python -m citynet.etl.address_keys", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=A.KEYS_FILE, help="output file (default: the package's)")
    args = ap.parse_args(argv)
    t = time.perf_counter()
    table = A._KeyTable(saved=False)  # every key read now: neither the shipped file nor the disk cache
    table.write_shipped(args.out)
    n = len(table.state)
    print(f"{n:,} keys, {int((table.state == 2).sum()):,} decide; digest {table.digest[:12]}; "
          f"written {args.out} in {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()

"""Sample queries (``--sample``, a SPEC's ``sample = "…"``): pandas ``query`` text over a panel, read the way the
user meant or refused with one message.

``apply_sample`` runs the query and turns pandas' errors into messages (a value written without quotes, a single
``=``, an unknown column with its near name); ``check_sample_values`` refuses comparisons that select other rows
than written — a number against a text (``year == '2010'``: no row; ``year >= '2012'``) or a text the column does not
hold next to a near one (``region != 'East'``, ``'East' != region``, ``region not in ['East']``: every row, east
included; ``region in ['east', 'Wset']``: east alone); ``sample_hints`` says why a query kept no row.

Example::

    >>> import pandas as pd
    >>> panel = pd.DataFrame({"year": [2010, 2011], "region": ["east", "west"]})
    >>> len(apply_sample(panel, "region == 'east'"))
    1
    >>> sample_hints(panel, "region == 'south'")
    "region has no value 'south' (its values: east, west)"
"""

from __future__ import annotations

import re

import pandas as pd

from citynet.errors import AnalysisError

_TEXT_COMPARISON = re.compile(r"`?([^\W\d][\w]*)`?\s*(==|!=)\s*(['\"])(.*?)\3")
_OPS = {"Eq": "==", "NotEq": "!=", "Lt": "<", "LtE": "<=", "Gt": ">", "GtE": ">=", "In": "in", "NotIn": "not in"}
_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}  # 'east' != region is region != 'east'; '2012' < year …


def _compared_texts(sample: str) -> list[tuple[str, str, list[str]]]:
    """``(column, operator, texts)`` for each comparison of ``sample`` between a name and text literals:
    ``col OP 'text'``, ``'text' OP col`` (written the other way round: the operator turned), ``col in ['a', 'b']``,
    ``col not in (…)``. Read with Python's parser (a pandas query is a Python expression, but for backquoted
    names, written here as names); a query it cannot read (``@variable``) by the pattern ``col ==|!= 'text'``."""
    import ast

    text = re.sub(r"`([^\W\d][\w]*)`", r"\1", sample)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return [(col, op, [t]) for col, op, _, t in _TEXT_COMPARISON.findall(sample)]

    def texts(node) -> list[str] | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            out = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
            return out or None
        return None

    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        for left, op, right in zip(sides, node.ops, sides[1:], strict=False):
            name = _OPS.get(type(op).__name__)
            if name is None:
                continue
            if isinstance(left, ast.Name) and (vals := texts(right)) is not None:
                found.append((left.id, name, vals))
            elif isinstance(right, ast.Name) and name not in ("in", "not in") and (vals := texts(left)) is not None \
                    and len(vals) == 1 and isinstance(left, ast.Constant):
                found.append((right.id, _FLIPPED.get(name, name), vals))
    return found


def _text_comparisons(df: pd.DataFrame, sample: str | None) -> list[tuple[str, bool]]:
    """``(hint, mistaken)`` for each comparison of a column with a text (``==``, ``!=``, ``<`` …, either way round,
    or ``in`` / ``not in`` a list of texts) of ``sample`` that cannot be what was meant: a number compared with a
    text, or (``==``, ``!=``, ``in``, ``not in``) a text the column does not hold. ``mistaken``: surely not what was meant — a number against a text,
    or a text next to a value the column holds (without case, by swapped letters or by spelling), named in the
    hint."""
    from difflib import get_close_matches

    out = []
    for column, op, written in _compared_texts(sample or ""):
        if column not in df.columns:
            continue
        values = df[column].dropna()
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            shown = written[0] if op not in ("in", "not in") else f"[{', '.join(written)}]"
            quoted = repr(written[0]) if len(written) == 1 else f"[{', '.join(map(repr, written))}]"
            out.append((f"{column} is a number and {quoted} {'a text' if len(written) == 1 else 'texts'}: write "
                        f"{column} {op} {shown}", True))
            continue
        if op not in ("==", "!=", "in", "not in"):  # an order of texts (province_code >= '320000'): any text will do
            continue
        held = sorted(values.astype(str).unique())
        for text in written:
            if text in held:
                continue
            lower = {v.lower(): v for v in held}
            swapped = [v for k, v in lower.items() if sorted(k) == sorted(text.lower())]  # 'Esat': 'east'
            near = swapped[:1] or [lower[m] for m in get_close_matches(text.lower(), list(lower), n=1)]
            listing = f"its values: {', '.join(held[:8])}" + (" …" if len(held) > 8 else "")
            out.append((f"{column} has no value {text!r} ({f'did you mean {near[0]!r}?' if near else listing})",
                        bool(near)))
    return out


def check_sample_values(df: pd.DataFrame, sample: str | None) -> None:
    """A sample query comparing a number with a text (``year == '2010'``: no row) or a text column with a likely
    misspelt value (``region != 'East'``: every row, east included) is one message: it selects other rows than
    meant without a word. A value the column lacks without a near one is left (it may be absent in this panel)."""
    wrong = [hint for hint, mistaken in _text_comparisons(df, sample) if mistaken]
    if wrong:
        raise AnalysisError(f"sample filter {sample!r}: {'; '.join(wrong)}",
                            fix="compare a number with a number and a text with a value the column holds")


def sample_hints(df: pd.DataFrame, sample: str | None) -> str:
    """Why a sample query that keeps no row may keep none (values the columns do not hold); empty when none."""
    return "; ".join(hint for hint, _ in _text_comparisons(df, sample))


def apply_sample(df: pd.DataFrame, sample: str | None) -> pd.DataFrame:
    """The rows of ``df`` that pass the pandas query ``sample`` (``--sample``; None: every row); a query
    that fails is one message listing the columns, whichever estimator the rows go to."""
    if not sample:
        return df
    from citynet.analysis.formula import derive

    # the derived names a formula may use (l1_x, ln_x, f1_x), computed on every row before the rows are chosen (as
    # the formula's own): "l1_collab_degree > 0" named a column the panel does not have unless the formula used it
    full = derive(df, [sample])
    made = [c for c in full.columns if c not in df.columns]
    df = full
    check_sample_values(df, sample)
    try:
        try:
            return df.query(sample).drop(columns=made)
        except Exception:
            if "`" not in sample:
                raise
            from citynet.analysis.formula import unquote

            return df.query(unquote(sample)).drop(columns=made)  # `GDP (亿元)` > 10: the covariate's column GDP_亿元
    except Exception as exc:
        from citynet.analysis.formula import did_you_mean

        columns = f"columns: {', '.join(map(str, df.columns))}"
        unknown = re.search(r"name '([^']+)' is not defined", str(exc))
        if unknown:
            word = unknown.group(1)
            text_cols = [c for c in df.columns if pd.api.types.is_string_dtype(df[c])]
            holders = [str(c) for c in text_cols if (df[c].astype(str) == word).any()]
            if holders:  # region == east: a value written without quotes
                raise AnalysisError(f"sample filter {sample!r}: {word!r} is a value of {', '.join(holders)}, read as a "
                                    "column name", fix=f"put the text in quotes: {holders[0]} == '{word}'") from exc
            raise AnalysisError(f"sample filter {sample!r} names {word!r}, which the panel does not "
                                f"have{did_you_mean([word], df.columns)}", fix=f"use the panel's {columns}") from exc
        if "cannot assign without a target" in str(exc):
            raise AnalysisError(f"sample filter {sample!r} has a single '=' (an assignment)",
                                fix="compare with '==': " + re.sub(r"(?<![=!<>])=(?!=)", "==", sample)) from exc
        if isinstance(exc, SyntaxError) or "syntax" in str(exc).lower() or "keyword" in str(exc):
            raise AnalysisError(f"sample filter {sample!r} is not a complete condition ({exc})",
                                fix='write comparisons of columns joined by and / or, as a pandas query: '
                                    '"year >= 2010 and tier_high == 1"; ' + columns) from exc
        raise AnalysisError(f"sample filter {sample!r} failed: {exc}", fix=columns) from exc

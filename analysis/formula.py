"""Formula helpers: year-aligned lags and leads, ln(1+x), and columns resolved by name.

A model formula is pyfixest/fixest syntax (``y ~ x1 + x2 | fe1 + fe2`` or, for IV,
``y ~ exog | fe | endog ~ instr``). Before the formula reaches pyfixest, citynet resolves the
names it uses against the panel and creates the derived columns it asks for:

=================  ====================================================================
``ln1p(x)``        ``ln(1 + x)`` (counts with zeros); the column is called ``ln_x``
``ln_x``           the same, when the panel has no column ``ln_x`` of its own
``L(x, k)``        ``x`` of the same unit ``k`` years earlier; the column is called ``lk_x``
``lk_x``           the same (``l1_collab_degree``), when no such column exists
``F(x, k)``        ``x`` ``k`` years later (a lead); the column is called ``fk_x``
``l(x, k)``        fixest's spelling of ``L(x, k)`` (``f(x, k)``: of ``F(x, k)``)
=================  ====================================================================

Prefixes compose (``l1_ln_collab_patents`` = ``L(ln1p(collab_patents), 1)``).
A covariate whose header is not a name (``GDP (亿元)``, ``gdp-pc``, ``2006年人口``) has the name ``ingest``
gave it (``etl.covariates.formula_name``: ``GDP_亿元``), and a formula may write the header in backquotes
as fixest and pyfixest users do (```GDP (亿元)``` = ``GDP_亿元``).
Lags are aligned **by year, not by row**: ``L(x, 1)`` at (i, t) is the value at (i, t−1) and is
missing when the panel has no row (i, t−1) — a gap in the panel never shifts values across years.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from citynet.etl.formula_words import FORMULA_FUNCTIONS

from citynet.errors import AnalysisError, UserError

NAME = re.compile(r"[^\W\d]\w*")  # a name: letters (any script), digits and _, not a digit first
_BACKQUOTED = re.compile(r"`([^`]*)`")
_BARE_REF = re.compile(r"\bref2?\s*=\s*([^\W\d]\w*)")  # ref=east, not ref='east'
_CARET_POWER = re.compile(r"(?<![\w.])([^\W\d]\w*)\s*\^\s*(\d+(?:\.\d+)?)(?![\w.])")  # x^2, not city_code^year
_STRING = re.compile(r"'[^']*'|\"[^\"]*\"")  # a text literal: i(region, d, ref='east')
_TERM = re.compile(r"[\w\u4e00-\u9fff.^:*()\[\], =<>!'\"/+-]+")  # the characters a formula's term may hold
_LAG_PREFIX = re.compile(r"^([lf])(\d+)_(.+)$")
# words of pyfixest formulas that are never variables: its own, read in the formula's text (multiple estimation,
# i()'s arguments), and Python's constants. The functions formulaic evaluates (etl/formula_words.py: a covariate
# of such a name is renamed at ingest) are skipped when called (log(x), np.log(x)); written bare they are names
# to check (a formula written before the rename: 'log' is the column log_).
_RESERVED = {"ref", "ref2", "sw", "sw0", "csw", "csw0", "mvsw", "bin", "True", "False", "None"}


_QUOTES = "'\"`"
#: characters pyfixest cuts a formula at before it reads a quoted text (its parts at '|' and '~', its calls at
#: brackets): inside quotes they fail it (ref='a|b': "at most one '~'", "quote context was not closed")
_UNQUOTABLE = "~|()["


def split_outside_parentheses(text: str, sep: str) -> list[str]:
    """``text`` split at every ``sep`` that stands outside parentheses and outside quotes (``'…'``, ``"…"`` and a
    backquoted header): the terms of a side of a formula (``sep="+"``), the arguments of a call (``","``). The
    parts are as written, unstripped (``len(parts[0])`` is where the first ``sep`` stands). A ``)`` before its
    ``(``, a ``(`` never closed (``ValueError("unbalanced parentheses")``) or a quote never closed
    (``ValueError("a quote … that is not closed")``) is an error.

    >>> split_outside_parentheses("log(x + 1) + i(kind, ref='a+b') + z", "+")
    ['log(x + 1) ', " i(kind, ref='a+b') ", ' z']
    >>> split_outside_parentheses("kind, d, ref='east, coastal'", ",")
    ['kind', ' d', " ref='east, coastal'"]
    """
    parts, depth, start, quote = [], 0, 0, ""
    for pos, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in _QUOTES:
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise ValueError("unbalanced parentheses")
        elif ch == sep and depth == 0:
            parts.append(text[start:pos])
            start = pos + 1
    if quote:
        raise ValueError(f"a quote {quote} that is not closed")
    if depth:
        raise ValueError("unbalanced parentheses")
    return [*parts, text[start:]]


def panel_keys(df: pd.DataFrame) -> tuple[list[str], str]:
    """The unit key columns and the year column of a panel (city-year or dyad-year)."""
    if "city_code" in df.columns:
        return ["city_code"], "year"
    if {"city_a", "city_b"} <= set(df.columns):
        return ["city_a", "city_b"], "year"
    raise AnalysisError(
        "the panel has neither city_code nor city_a/city_b columns",
        fix=f"pass a city-year or dyad-year panel; columns found: {', '.join(map(str, df.columns))}",
    )


def lag(df: pd.DataFrame, column: str, k: int = 1, ids: Sequence[str] | None = None, year: str = "year",
        label: str | None = None) -> pd.Series:
    """``x_{i,t-k}`` aligned by year within unit (k < 0 gives a lead). Missing where (i, t−k) is absent. A unit with
    two rows in one year is one message (which row's value would be the lag?), ``label`` naming the variable."""
    if ids is None:
        ids, year = panel_keys(df)
    ids = list(ids)
    twice = df.duplicated([*ids, year], keep=False)
    if twice.any():  # which row's value is "the" lag? (fixest: "The panel identifiers contain duplicate values")
        keys = df.loc[twice, [*ids, year]].drop_duplicates()
        where = "; ".join(" ".join(str(v) for v in row) for row in keys.head(3).itertuples(index=False))
        raise AnalysisError(
            f"{'a lag' if k > 0 else 'a lead'} of {label or column} needs one row per {' + '.join(ids)} and {year}, and "
            f"{int(twice.sum()):,} rows share theirs with another ({where}{' …' if len(keys) > 3 else ''})",
            fix="remove the duplicated rows (a merge that matched twice?), or aggregate them to one row per unit and year")
    src = df[[*ids, year, column]]
    src = src.assign(**{year: src[year] + k})
    merged = df[[*ids, year]].merge(src, on=[*ids, year], how="left")
    return pd.Series(merged[column].to_numpy(), index=df.index, name=f"l{k}_{column}" if k > 0 else f"f{-k}_{column}")


def ln1p(x: pd.Series | np.ndarray) -> pd.Series:
    """``ln(1 + x)``; negative values are an error (the transform is meant for counts and levels)."""
    s = pd.Series(x, dtype=float)
    if (s < 0).any():
        raise AnalysisError(f"ln1p({getattr(x, 'name', 'x')}): {int((s < 0).sum())} negative values",
                            fix="ln(1+x) is for non-negative counts; transform the variable yourself")
    return np.log1p(s)


def rewrite_calls(formula: str) -> str:
    """``L(x, k)`` → ``lk_x``, ``F(x, k)`` → ``fk_x``, ``ln1p(x)`` → ``ln_x`` (innermost first; fixest's ``l(x, k)``
    and ``f(x, k)`` too, a negative k the other way): the formula with the names of the columns :func:`prepare`
    derives, as the fit names its coefficients."""
    pat_lag = re.compile(rf"(?<![\w.])([LFlf])\(\s*({NAME.pattern})\s*(?:,\s*(-?\d+)\s*)?\)")
    pat_ln = re.compile(rf"\bln1p\(\s*({NAME.pattern})\s*\)")

    def lagged(m: re.Match) -> str:  # L(x, -1) is F(x, 1), as fixest's l(x, -1) is f(x, 1)
        k = int(m.group(3) or 1) * (1 if m.group(1) in "Ll" else -1)
        return f"l{k}_{m.group(2)}" if k >= 0 else f"f{-k}_{m.group(2)}"

    while True:
        new = pat_ln.sub(lambda m: f"ln_{m.group(1)}", formula)
        new = pat_lag.sub(lagged, new)
        if new == formula:
            return new
        formula = new


def shadowing_columns(columns: Sequence[str], formula: str | None = None) -> list[str]:
    """The columns named as a function formulaic or pyfixest evaluates (``etl/formula_words.py``: ``log``, ``C``,
    ``np``, ``i`` …); with ``formula``, only those it calls (``log(x)``, ``np.log(x)``; not ``np.log``'s ``log``)."""
    names = [str(c) for c in columns if str(c) in FORMULA_FUNCTIONS]
    if formula is None:
        return names
    return [n for n in names if re.search(rf"(?<![\w.]){re.escape(n)}\s*[(.]", formula)]


def shadowing_error(names: Sequence[str], why: str) -> AnalysisError:
    """One message for panel columns named as formula functions (a workspace ingested before such covariates were
    renamed, a derived column, a data frame of one's own): they hide the function in every formula."""
    cols = ", ".join(repr(n) for n in names)
    calls = ", ".join(f"{n}()" for n in names)
    renames = ", ".join(f"{n} → {n}_" for n in names)
    return AnalysisError(
        f"the panel has a column named {cols}, the name of the formula function {calls}: {why}",
        fix=f"rename the column ({renames}, as citynet ingest names such a covariate now): re-ingest the covariates "
            "of a workspace ingested before (citynet ingest -w WS … --covariates FILE), or rename it in the data "
            "frame or in [panel_options] derive")


def unquote(formula: str) -> str:
    """Each backquoted header (```GDP (亿元)```) replaced by its covariate name (``GDP_亿元``,
    ``etl.covariates.formula_name``); an unmatched backquote is a usage error."""
    from citynet.etl.covariates import formula_name

    if "`" not in formula:
        return formula
    out = _BACKQUOTED.sub(lambda m: formula_name(m.group(1).strip()), formula)
    if "`" in out:
        raise UserError(f"the formula {formula!r} has an unmatched backquote",
                        fix="write a column name that is not a plain name between two backquotes: `GDP (亿元)`")
    return out


def _header_hints(formula: str, columns: Sequence[str], names: Sequence[str] | None = None) -> dict[str, str]:
    """``{term: covariate name}`` for the terms of ``formula`` written as a header that is not a name
    (``GDP (亿元)`` unquoted: the panel's column is ``GDP_亿元``); with ``names``, only terms using one of them."""
    from citynet.etl.covariates import formula_name

    cols = {str(c) for c in columns}
    hints = {}
    for t in re.split(r"[~|+]", formula):
        t = t.strip()
        if not t or t in cols or (names is not None and not set(formula_names(t)) & set(names)):
            continue
        name = formula_name(t)
        if name != t and name in cols:
            hints[t] = name
    return hints


def _unknown(names: Sequence[str], hints: dict[str, str], columns: Sequence[str],
             subject: str = "the formula") -> AnalysisError:
    """The one error of names a formula (or an option, ``subject``) uses that the panel does not have: the
    near names of each, and for a header written without backquotes the covariate's name."""
    shown = [n for n in names if not any(n in formula_names(t) for t in hints)] + list(hints)
    near = "; ".join(f"{t!r} is the column {n}: write {n} or `{t}`" for t, n in hints.items())
    cols = ", ".join(map(str, columns))
    return AnalysisError(
        f"{subject} names {', '.join(repr(m) for m in shown)}, which the panel does not have"
        + (f" ({near})" if near else "") + did_you_mean([n for n in shown if n not in hints], columns),
        fix=f"use one of the panel's columns: {cols} "
            "(derived names: ln_X = ln(1+X), l1_X = X lagged one year, f1_X = one-year lead; "
            "a header that is not a name in backquotes: `GDP (亿元)`)",
    )


def column_names(value: str, columns: Sequence[str], subject: str, several: bool = False) -> str:
    """The panel columns an option names (``fit --cluster``, ``map --var``), spelled as a formula spells them:
    the column's name (``GDP_亿元``), a covariate's header in backquotes (```GDP (亿元)```) or, as the whole
    value is one name, the header as in the file (``GDP (亿元)``); with ``several``, ``a + b`` (``^`` too) names
    two (two-way clusters). A name the panel does not have is the formula's error (exit 5), ``subject`` naming the option."""
    from citynet.etl.covariates import formula_name

    cols = [str(c) for c in columns]
    text = str(value).strip()
    if text in cols:
        return text
    if "`" not in text and formula_name(text) in cols:  # 'R+D', the header of the column R_D
        return formula_name(text)
    if several:
        refuse_listed_columns(text, cols, f"{subject} {value!r}")
    parts = [p.strip() for p in (re.split(r"([+^])", unquote(text)) if several else [unquote(text)])]
    names = [p if p in ("+", "^") or p in cols else formula_name(p) for p in parts]
    missing = [p for p, n in zip(parts[::2], names[::2], strict=True) if n not in cols]  # as written: 0, not v0
    if missing:
        raise _unknown(missing, {}, cols, subject=subject)
    return "".join(names)


def refuse_listed_columns(text: str, columns: Sequence[str], subject: str) -> None:
    """Clusters written as a list — reghdfe's ``cluster(a b)``, ``a, b`` — are one message with fixest's ``a + b``."""
    listed = [p for p in re.split(r"[,;\s]+", str(text)) if p]
    if len(listed) > 1 and all(p in {str(c) for c in columns} for p in listed):
        raise UserError(f"{subject} lists {len(listed)} columns without '+'",
                        fix=f"write {' + '.join(listed)} for clusters by each (two-way, as fixest's ~{'+'.join(listed)} "
                            f"and reghdfe's cluster({' '.join(listed)})), or {'^'.join(listed)} for one cluster per "
                            "combination")


def formula_names(formula: str) -> list[str]:
    """Variable names a formula uses (function names, keywords and numbers left out), in order."""
    names: list[str] = []
    formula = _STRING.sub(lambda m: " " * len(m.group()), formula)  # ref='east' names a level, not a column
    for m in NAME.finditer(formula):
        tok = m.group(0)
        rest = formula[m.end():].lstrip()
        if (tok in _RESERVED or rest.startswith("(") or (tok in FORMULA_FUNCTIONS and rest.startswith("."))
                or (rest.startswith("=") and not rest.startswith("=="))):
            continue
        if tok not in names:
            names.append(tok)
    return names


def _materialise(df: pd.DataFrame, name: str, ids: list[str], year: str, made: dict[str, pd.Series]) -> bool:
    """Create column ``name`` in ``made`` if it is a derived name whose base resolves; True on success."""
    if name in df.columns or name in made:
        return True
    m = _LAG_PREFIX.match(name)
    if m:
        kind, k, base = m.group(1), int(m.group(2)), m.group(3)
        if not _materialise(df, base, ids, year, made):
            return False
        tmp = df[[*ids, year]].copy()
        value = "__citynet_value"  # (not the base's name: a lag of a key column, l1_year, replaced the key)
        tmp[value] = made[base] if base in made else df[base]
        made[name] = lag(tmp, value, k if kind == "l" else -k, ids, year, label=base).rename(name)
        return True
    if name.startswith("ln_"):
        base = name[3:]
        if not _materialise(df, base, ids, year, made):
            return False
        made[name] = ln1p(made[base] if base in made else df[base]).set_axis(df.index).rename(name)
        return True
    return False


def derive(df: pd.DataFrame, texts: Sequence[str]) -> pd.DataFrame:
    """``df`` with the derived columns (``lK_x``, ``fK_x``, ``ln_x``, ``L(x, k)`` …) that ``texts`` (formulas,
    variable names) name, computed on every row of ``df``; names it cannot make are left to the estimator.
    A sample taken afterwards keeps its first year's lag, as fixest's ``subset`` and Stata's ``if``."""
    try:
        ids, year = panel_keys(df)
    except AnalysisError:
        return df
    made: dict[str, pd.Series] = {}
    for text in texts:
        for name in NAME.findall(rewrite_calls(unquote(text))):
            if name not in df.columns and (_LAG_PREFIX.match(name) or name.startswith("ln_")):
                _materialise(df, name, ids, year, made)
    return df.assign(**made) if made else df


def did_you_mean(names: Sequence[str], columns: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest column names (difflib ratio ≥ 0.6), or ``""``."""
    import difflib

    cols = [str(c) for c in columns]
    hints = []
    for n in names:
        # peel the derived-name prefixes (l1_, f1_, ln_), match the core, and put the prefixes back:
        # 'ln_green_patent' → 'ln_green_patents'
        prefix, core = "", n
        while True:
            m = _LAG_PREFIX.match(core)
            if m and m.group(3):
                prefix, core = prefix + f"{m.group(1)}{m.group(2)}_", m.group(3)
            elif core.startswith("ln_") and core not in cols:
                prefix, core = prefix + "ln_", core[3:]
            else:
                break
        close = [prefix + c for c in difflib.get_close_matches(core, cols, n=2)] if prefix else []
        close = [c for c in close or difflib.get_close_matches(n, cols, n=2) if c != n]  # never the name itself
        if close:
            hints.append(f"{n!r}: did you mean {' or '.join(repr(c) for c in close)}?")
    return f" ({'; '.join(hints)})" if hints else ""


def check_syntax(formula: str) -> None:
    """Reject a formula that cannot parse, naming the place: no '~', unbalanced parentheses, an empty term."""
    fix = "write it as 'y ~ x1 + x2 | fe1 + fe2' (IV: 'y ~ exog | fe | endog ~ instr')"
    if "~" not in formula:
        raise UserError(f"the formula {formula!r} has no '~' between the outcome and the regressors", fix=fix)
    try:
        split_outside_parentheses(formula, "~")
    except ValueError as exc:
        raise UserError(f"the formula {formula!r} has {exc}", fix=fix) from None
    for text in _STRING.findall(formula):
        cut = [ch for ch in _UNQUOTABLE if ch in text[1:-1]]
        if cut:  # i(kind, ref='a|b'): pyfixest cuts the formula there before it reads the text
            raise UserError(f"the formula {formula!r} has the text {text} holding {' '.join(cut)}, which pyfixest "
                            "reads as the formula's own even in quotes",
                            fix=f"recode the column's values without them (in a SPEC, [panel_options] derive = "
                                f"{{ g2 = \"g.str.replace('{cut[0]}', '/')\" }} for a column g) and name the new value")
    parts = formula.split("|")  # (pyfixest cuts at every '|' and '~', in parentheses too: so do these two)
    if "~" not in parts[0]:  # y | fe ~ x: it was a ValueError traceback
        raise UserError(f"the formula {formula!r} has a '|' before its first '~'", fix=fix)
    lhs, rhs = parts[0].split("~", 1)
    if not lhs.strip():
        raise UserError(f"the formula {formula!r} has no outcome before '~'", fix=fix)
    for k, part in enumerate([rhs, *parts[1:]]):
        for side in part.split("~"):
            try:
                terms = split_outside_parentheses(side, "+")  # I(a + b), log(x + 1): one term each
            except ValueError:  # I(a | b): the cut left a parenthesis open (a quoted '|' was refused above)
                raise UserError(f"the formula {formula!r} has a '|' or '~' inside parentheses, where pyfixest cuts the "
                                "formula all the same",
                                fix="keep '|' and '~' for the formula's parts ('y ~ x | fe | endog ~ instr'); inside "
                                    "I(), write np.logical_or(a, b) for a | b and np.logical_not(a) for ~a") from None
            if any(not t.strip() for t in terms) and not (k > 0 and side.strip() == "" and len(terms) == 1):
                raise UserError(f"the formula {formula!r} has an empty term in {side.strip() or part.strip()!r} "
                                "(a '+' or '|' with nothing on one side)", fix=fix)
            for t in terms:
                t = t.strip()
                if t and not _TERM.fullmatch(_STRING.sub("''", t)):  # a quoted text may hold any character
                    raise UserError(f"the formula {formula!r}: cannot read the term {t!r}", fix=fix)


_STATA_COMMANDS = {"reg", "regress", "xtreg", "areg", "reghdfe", "ivreg", "ivreg2", "ivregress", "ivreghdfe",
                   "ppmlhdfe", "poisson", "xtpoisson", "logit", "probit"}
_STATA_OPERATOR = re.compile(r"(?<![\w.])([LFDlfd])(\d*)\.([^\W\d]\w*)|(?<![\w.])([icIC])\.([^\W\d]\w*)")
_LAG_RANGE = re.compile(r"(?<![\w.])([LlFf])\(\s*([^\W\d]\w*)\s*,\s*(\d+)\s*:\s*(\d+)\s*\)")
_OTHER_CALL = re.compile(r"(?<![\w.])(lag|lead|ln|d|diff|sqrt|log1p)\((?:\s*([^\W\d]\w*)\s*(?:,\s*(\d+)\s*)?\))?")


def refuse_other_syntax(formula: str) -> None:
    """Stata's and R's ways of writing a model, which pyfixest reads otherwise or not at all, each one message with
    the formula citynet reads: full-width ``～ ＋ （ ）`` of a Chinese input method, a Stata command (``reg y x, fe``),
    options after a comma (``, cluster(id)``), operators (``L.x``, ``i.year``, ``a#b``), fixest's ``l(x, 1:2)``, and
    calls: ``lag(x)`` (formulaic's lag shifts *rows* — another city's last year, or the year before a gap — where a
    panel lag is ``L(x, 1)``, by year within the city), and the functions a formula does not know: ``lead``, ``ln``,
    ``d``/``diff``, ``sqrt``, ``log1p``.

    >>> refuse_other_syntax("y ~ L(x, 1) + i(year) | city_code + year")
    >>> refuse_other_syntax("y ~ lag(x) | city_code")
    Traceback (most recent call last):
    ...
    citynet.errors.AnalysisError: lag() in 'y ~ lag(x) | city_code' is formulaic's lag, which shifts rows: a city's first year would take the previous city's last value, and a year after a gap the value before the gap
    """
    text = _STRING.sub(lambda m: " " * len(m.group()), formula)
    wide = [ch for ch in dict.fromkeys(text) if ch == "\u3000" or (0xFF01 <= ord(ch) <= 0xFF5E and not ch.isalnum())]
    if wide:  # ～ ＋ （ ｜ typed with a Chinese input method: "no '~'", or "cannot read the term"
        plain = formula.translate({ord(c): " " if c == "\u3000" else chr(ord(c) - 0xFEE0) for c in wide})
        raise UserError(f"the formula {formula!r} has the full-width {' '.join(wide)} of a Chinese input method, which "
                        "a formula does not read", fix=f"write it in ASCII: {plain!r}")
    words = text.split()
    fix = ("write fixest's formula, 'y ~ x1 + x2 | city_code + year', and options as citynet's: --cluster VAR for "
           "cluster(VAR) or vce(cluster VAR), --vcov hc1 for robust")
    if words and words[0] in _STATA_COMMANDS and "~" not in text:
        raise UserError(f"the formula {formula!r} is a Stata command; citynet reads a fixest formula", fix=fix)
    try:
        before = split_outside_parentheses(text, ",")[0]
    except ValueError:  # unbalanced parentheses, an unclosed quote: check_syntax's message
        before = text
    if len(before) < len(text):
        raise UserError(f"the formula {formula!r} has a ',' outside parentheses: {formula[len(before):].strip()!r} "
                        "reads like Stata's options, which a formula does not take", fix=fix)
    if "#" in text:
        raise UserError(f"the formula {formula!r} has a '#': Stata's interaction",
                        fix="write a:b for Stata's a#b (the product alone) and a*b for a##b (both variables and their "
                            "product); i(year, x) for i.year#c.x")
    op = _STATA_OPERATOR.search(text)
    if op:
        if op.group(1):
            kind, k, name = op.group(1).upper(), int(op.group(2) or 1), op.group(3)
            rewrite = {"L": f"L({name}, {k}) or l{k}_{name}", "F": f"F({name}, {k}) or f{k}_{name}",
                       "D": f"I({name} - l1_{name})"}[kind]
            years = "one year" if k == 1 else f"{k} years"
            what = {"L": f"{name} {years} earlier", "F": f"{name} {years} later",
                    "D": f"the change of {name} from the year before"}[kind]
        else:
            name = op.group(5)
            rewrite, what = ((f"i({name}) or C({name})", f"a dummy for each value of {name}")
                             if op.group(4) in "iI" else (name, f"{name} as a number"))
        raise UserError(f"{op.group(0)!r} in {formula!r} is Stata's operator for {what}",
                        fix=f"write {rewrite} (fixest's formula: docs/methods.md §4)")
    several = _LAG_RANGE.search(text)
    if several:  # fixest's l(x, 1:2): several lags in one call
        fn, name, a, b = several.groups()
        ks = range(int(a), int(b) + 1) if int(a) <= int(b) else range(int(a), int(b) - 1, -1)
        letter = fn.upper()
        raise UserError(f"{several.group(0)!r} in {formula!r}: fixest's several {'lags' if letter == 'L' else 'leads'} "
                        "in one call are written one by one here",
                        fix="write " + " + ".join(f"{letter}({name}, {k})" for k in ks) + " (or "
                            + " + ".join(f"{letter.lower()}{k}_{name}" for k in ks) + ")")
    call = _OTHER_CALL.search(text)
    if call:
        fn, name, k = call.group(1), call.group(2) or "x", int(call.group(3) or 1)  # x: an expression in the call
        years = "one year" if k == 1 else f"{k} years"
        if fn == "lag":  # formulaic's lag(x, k): the value k rows up, whoever's row it is
            raise AnalysisError(
                f"lag() in {formula!r} is formulaic's lag, which shifts rows: a city's first year would take the "
                "previous city's last value, and a year after a gap the value before the gap",
                fix=f"write L({name}, {k}) or l{k}_{name}: {name} {years} earlier within the city, by year")
        rewrite = {"lead": f"F({name}, {k}) or f{k}_{name}: {name} {years} later within the city, by year",
                   "ln": f"log({name}) for ln {name} (rows with {name} ≤ 0 are dropped), or ln_{name} for ln(1 + {name})",
                   "d": f"I({name} - l1_{name}) for the change from the year before",
                   "diff": f"I({name} - l1_{name}) for the change from the year before",
                   "sqrt": f"np.sqrt({name})", "log1p": f"np.log1p({name}), or ln_{name}"}[fn]
        raise AnalysisError(f"{fn}() in {formula!r} is not a function a formula can call", fix=f"write {rewrite}")


LABEL_COLUMNS = {"collab_community": "a Leiden community label, numbered 1, 2, … by size and renumbered every year"}
"""Panel columns that are labels, not amounts: a group (``i()``, ``C()``, a fixed effect), never a number."""
_GROUPING_CALL = re.compile(r"\b(?:i|C)\([^()]*\)")


def refuse_labels_as_numbers(formula: str) -> None:
    """A label column (:data:`LABEL_COLUMNS`) as a regressor — or its log, lag or lead anywhere — would be
    fitted as an amount (community 3 = three times community 1): one message with the grouping forms.

    >>> refuse_labels_as_numbers("y ~ x + i(collab_community) | city_code + collab_community^year")
    >>> refuse_labels_as_numbers("y ~ x + collab_community | city_code")
    Traceback (most recent call last):
    ...
    citynet.errors.AnalysisError: collab_community is a Leiden community label, numbered 1, 2, … by size and renumbered every year: a formula cannot use it as a number
    """
    regressors = formula_names(_GROUPING_CALL.sub(" ", _STRING.sub(" ", formula.split("|")[0])))
    for name in dict.fromkeys([*regressors, *formula_names(formula)]):
        base = name
        while (m := _LAG_PREFIX.match(base)) or base.startswith("ln_"):
            base = m.group(3) if m else base[3:]
        if base in LABEL_COLUMNS and (base != name or name in regressors):
            raise AnalysisError(f"{name} is {LABEL_COLUMNS[base]}: a formula cannot use it as a number",
                                fix=f"use the label as groups of a year: i({base}) or C({base}) on the right, or "
                                    f"the fixed effect {base}^year after |")


def prepare(df: pd.DataFrame, formula: str, extra: Sequence[str] = ()) -> tuple[pd.DataFrame, str]:
    """Rewrite the helper calls of ``formula`` and add the derived columns it needs to (a copy of) ``df``.

    ``extra`` names further columns that must exist (cluster variable, …). A name that resolves to
    nothing raises an :class:`AnalysisError` that lists the panel's columns.
    """
    formula = unquote(formula)
    refuse_other_syntax(formula)
    try:
        check_syntax(formula)
    except UserError:  # 'R&D' cannot be read: a covariate header written without backquotes?
        hints = {t: n for t, n in _header_hints(formula, df.columns).items() if not _TERM.fullmatch(t)}
        if hints:
            raise _unknown([], hints, df.columns) from None
        raise
    power = _CARET_POWER.search(_STRING.sub(lambda m: " " * len(m.group()), formula))  # not ref='x^2'
    if power:  # x^2: x crossed with itself (R's and formulaic's rule, so just x); inside I(): bitwise xor
        name, k = power.group(1), power.group(2)
        raise AnalysisError(f"{power.group(0)!r} in {formula!r} is not a power: in a formula it is {name} crossed with "
                            f"itself (that is, {name}), and inside I() it is Python's bitwise exclusive or",
                            fix=f"write the power as I({name}**{k}), e.g. y ~ {name} + I({name}**{k})")
    formula = rewrite_calls(formula)
    refuse_labels_as_numbers(formula)
    shadowed = shadowing_columns(df.columns, formula)
    if shadowed:  # log(x) would call the column: "'Series' object is not callable"
        raise shadowing_error(shadowed, f"{formula!r} calls the function, and the column would be called instead")
    df = derive(df, [formula, *extra])
    missing = [name for name in [*formula_names(formula), *extra] if name not in df.columns]
    bare = [m.group(1) for m in _BARE_REF.finditer(formula) if m.group(1) in missing]
    if bare:  # i(region, d, ref=east): a text value written as a name
        raise AnalysisError(f"ref={bare[0]}: {bare[0]} is not a column; a reference level that is a text is quoted",
                            fix=f"write ref='{bare[0]}'")
    if missing:
        raise _unknown(missing, _header_hints(formula, df.columns, missing), df.columns)
    return df, formula

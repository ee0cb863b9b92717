"""A model's ``vcov`` that its kind does not read, or reads as something else, was ignored without a word
(found by the fuzzer's ``spec_valid`` kind, session 37: the example SPECs' models with valid values swapped in).

- ``vcov = "conley:300"`` on a kind other than ``fit`` was read as a column to cluster by: "vcov
  'cluster:conley:300' names 'conley:300', which the panel does not have" — true of no column the user wrote;
- ``vcov = "hc1"`` on kind ``cs``, ``gardner``, ``cs_cov``, ``sdm``, ``moran`` or ``spatial_tests`` was
  ignored (those kinds compute their own standard errors), exit 0;
- kind ``tobit`` read any ``vcov`` beginning with "cluster" as clustering by city and anything else as the
  inverse Hessian: ``vcov = "cluster:province_code"`` gave city-clustered SEs, ``vcov = "hc1"`` OIM SEs.

Each is now one message (exit 5) before any file is written. The expected behaviour is the documented one
(docs/methods.md: which kind computes which standard errors); the Tobit's accepted spellings give the same
numbers as the estimator's own ``vcov="cluster"`` and ``"oim"`` (the R comparison of those is test_designs_tobit).
"""

from __future__ import annotations

import pytest
from citynet.analysis.estimators import parse_vcov

from citynet.errors import AnalysisError
from tests.test_fit_cli import build_workspace, run


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return build_workspace(tmp_path_factory.mktemp("ws"))


def _spec(tmp_path, model: str) -> str:
    spec = tmp_path / "s.toml"
    spec.write_text(f'[spec]\nname = "t"\n[[models]]\nname = "(1)"\n{model}', encoding="utf-8")
    return str(spec)


def _refused(ws, tmp_path, model: str) -> AnalysisError:
    with pytest.raises(AnalysisError) as err:
        run(["fit", "-w", str(ws), _spec(tmp_path, model), "--out", str(tmp_path / "o")])
    assert err.value.exit_code == 5
    assert not (tmp_path / "o" / "t.md").exists()
    return err.value


@pytest.mark.parametrize("vcov", ["conley:300", "conley:200:2", "wild:99", "ri:99", "Conley:300"])
def test_inference_of_kind_fit_as_vcov_elsewhere_names_kind_fit(vcov):
    with pytest.raises(AnalysisError) as err:
        parse_vcov(vcov)
    assert "computed for kind \"fit\" (a formula) only" in err.value.message
    assert "which the panel does not have" not in err.value.message
    assert 'write the model as kind "fit"' in err.value.fix


def test_a_did_with_conley_vcov_is_refused_and_the_same_as_kind_fit_runs(ws, tmp_path):
    err = _refused(ws, tmp_path, 'kind = "did"\ny = "ln_green_patents"\nvcov = "conley:300"\n')
    assert err.message.startswith("model '(1)' (kind 'did'): vcov = 'conley:300'") and "cluster:conley" not in err.message
    # the spec's vcov, given to every model: the did is named, and told where the vcov came from
    spec = tmp_path / "d.toml"
    spec.write_text('[spec]\nname = "t"\nvcov = "conley:200:2"\n[[models]]\nname = "(1)"\n'
                    'formula = "ln_green_patents ~ low_carbon | city_code + year"\n[[models]]\nname = "(2)"\n'
                    'kind = "did"\ny = "ln_green_patents"\n', encoding="utf-8")
    with pytest.raises(AnalysisError) as spec_err:
        run(["fit", "-w", str(ws), str(spec), "--out", str(tmp_path / "d")])
    assert spec_err.value.message.startswith("model '(2)' (kind 'did'): vcov = 'conley:200:2'")
    assert spec_err.value.message.endswith("(the spec's or table's vcov)")
    run(["fit", "-w", str(ws), _spec(tmp_path, 'formula = "ln_green_patents ~ low_carbon | city_code + year"\n'
                                               'vcov = "conley:300"\n'), "--out", str(tmp_path / "ok")])
    assert (tmp_path / "ok" / "t.md").exists()


@pytest.mark.parametrize("kind, model, own", [
    ("cs", 'y = "ln_green_patents"\ncohort = "low_carbon_year"\n', "se = \"analytic\" | \"bootstrap\""),
    ("gardner", 'y = "ln_green_patents"\n', "se = \"analytic\" | \"bootstrap\""),
    ("cs_cov", 'y = "ln_green_patents"\n', "clustered by cluster"),
    ("sdm", 'y = "ln_green_patents"\nx = ["collab_degree"]\n', "information matrix"),
    ("moran", 'var = "green_patents"\n', "Moran's I"),
    ("spatial_tests", 'y = "ln_green_patents"\nx = ["collab_degree"]\n', "tests' own variances"),
])
@pytest.mark.parametrize("vcov", ["hc1", "cluster:province_code"])
def test_vcov_on_a_kind_with_its_own_standard_errors_is_refused(ws, tmp_path, kind, model, own, vcov):
    err = _refused(ws, tmp_path, f'kind = "{kind}"\n{model}vcov = "{vcov}"\n')
    assert f'vcov = "{vcov}" is not read: kind {kind!r} computes its standard errors its own way' in err.message
    assert own in err.message and err.fix == "drop vcov from this model"


@pytest.mark.parametrize("vcov", ["hc1", "iid", "cluster:province_code", "conley:300"])
def test_a_tobit_takes_oim_or_city_clusters_only(ws, tmp_path, vcov):
    err = _refused(ws, tmp_path, f'kind = "tobit"\ny = "ln_green_patents"\nx = ["collab_degree"]\nvcov = "{vcov}"\n')
    assert "is not one the random-effects Tobit takes" in err.message
    assert err.fix == 'write vcov = "oim" or vcov = "cluster:city_code"'


def test_the_tobits_spellings_are_the_estimators_two(ws, tmp_path):
    """``cluster:city_code`` and ``cluster`` are the same sandwich over cities; ``oim`` and no vcov the same
    inverse Hessian; the two differ (the tables, compared whole)."""
    tables = {}
    for vcov in ("cluster:city_code", "cluster", "oim", None):
        out = tmp_path / str(vcov).replace(":", "_")
        model = 'kind = "tobit"\ny = "ln_green_patents"\nx = ["collab_degree"]\n' + (f'vcov = "{vcov}"\n' if vcov else "")
        run(["fit", "-w", str(ws), _spec(tmp_path, model), "--out", str(out)])
        tables[vcov] = (out / "t.md").read_text(encoding="utf-8")
    assert tables["cluster:city_code"] == tables["cluster"] and tables["oim"] == tables[None]
    assert tables["cluster"] != tables["oim"]
